"""The collector's small pure parts: token checks and redaction, the body reader, raw text;
and the server helper's logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import httpx
import pytest
from starlette.requests import Request
from starlette.types import Message

from dialer.collector.body import read_limited_body
from dialer.collector.raw import RAW_LIMIT_CHARS, raw_request_text
from dialer.collector.tokens import TokenRedactingFilter, redact_token, token_matches
from tests.collector.conftest import TOKEN, StartCollector


@pytest.mark.parametrize(
    ("given", "expected", "matches"),
    [
        ("secret", "secret", True),
        ("secret", "secreT", False),
        ("secre", "secret", False),
        ("", "", False),
        ("anything", "", False),
        ("токен", "токен", True),
        ("\udcff", "secret", False),
    ],
)
def test_token_matches(given: str, expected: str, matches: bool) -> None:
    assert token_matches(given, expected) is matches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("POST /hooks/s3cr3t/mtt/call 200", "POST /hooks/***/mtt/call 200"),
        ("token s3cr3t leaked", "token *** leaked"),
        ("GET /hooks/other-guess/mtt/sms", "GET /hooks/***/mtt/sms"),
        ("GET /healthz", "GET /healthz"),
    ],
)
def test_redact_token(text: str, expected: str) -> None:
    assert redact_token(text, "s3cr3t") == expected


def test_redacting_filter_rewrites_formatted_messages() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "path %s", ("/hooks/s3/mtt",), None)

    assert TokenRedactingFilter("s3").filter(record)
    assert record.getMessage() == "path /hooks/***/mtt"


def _request(chunks: list[bytes], headers: dict[str, str], received: list[int]) -> Request:
    queue: Iterator[bytes] = iter(chunks)

    async def receive() -> Message:
        received.append(1)
        chunk = next(queue, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)


def _read(chunks: list[bytes], headers: dict[str, str], limit: int) -> tuple[bytes | None, int]:
    received: list[int] = []

    async def main() -> bytes | None:
        return await read_limited_body(_request(chunks, headers, received), limit)

    return anyio.run(main), len(received)


def test_body_within_the_limit_is_read_whole() -> None:
    assert _read([b"ab", b"cd"], {}, 4) == (b"abcd", 3)


def test_declared_length_over_the_limit_reads_nothing() -> None:
    assert _read([b"x" * 10], {"content-length": "11"}, 10) == (None, 0)


def test_reading_stops_at_the_first_chunk_past_the_limit() -> None:
    chunks = [b"x" * 100] * 1000  # a lying Content-Length, or none: counted while streaming
    assert _read(chunks, {"content-length": "5"}, 250) == (None, 3)
    assert _read(chunks, {}, 250) == (None, 3)


def test_malformed_content_length_is_ignored() -> None:
    assert _read([b"abc"], {"content-length": "²"}, 10) == (b"abc", 2)


def test_raw_request_text() -> None:
    raw = raw_request_text("GET", None, b"a=1&b=%D1", b"\xff\x00body")

    assert raw == "GET -\n?a=1&b=%D1\n\ufffd\ufffdbody"


def test_raw_request_text_is_cut() -> None:
    raw = raw_request_text("POST", "text/plain", b"", b"x" * 100_000)

    assert raw.startswith("POST text/plain\n?\nxxx")
    assert len(raw) < RAW_LIMIT_CHARS + 100
    assert raw.endswith("more characters cut]")


def test_server_logs_never_show_the_token(
    start_collector: StartCollector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    collector = start_collector()
    collector.client.post(collector.hook("call"), content="garbage")
    collector.client.post(collector.hook("call", "wrong"), content="garbage")
    logging.getLogger("uvicorn.error").warning("request to %s", collector.hook("call"))

    assert TOKEN not in caplog.text
    assert "/hooks/***/mtt/call" in caplog.text
    assert not [record for record in caplog.records if record.name == "uvicorn.access"]


def test_server_start_and_stop(start_collector: StartCollector) -> None:
    collector = start_collector()
    assert collector.url.startswith("http://127.0.0.1:")
    assert collector.server.start() == collector.url  # idempotent

    collector.server.stop()
    collector.server.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.get(collector.url + "/healthz")
