"""Log masking: phone numbers, webhook paths and secrets never reach a log line, tracebacks
(with a database driver's SQL parameters) included."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from dialer.db.models import ProviderEvent
from dialer.logs import (
    MaskingFormatter,
    add_secrets,
    configure_logging,
    discard_secrets,
    install_fallback_logging,
    mask_phone,
    mask_text,
)
from dialer.outcomes.apply import apply_events
from dialer.outcomes.inbox import store_event
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import dedupe_key
from tests.support.services import migrated

PHONE = "79103880489"
TOKEN = "hook-token-3b8e5d1c9a"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("call to 79103880489 ended", "call to 7910*****89 ended"),
        ("+79103880489", "+7910*****89"),
        ("h_79103880489_16_4", "h_7910*****89_16_4"),
        ("to=%2B79103880489&x=1", "to=%2B7910*****89&x=1"),
        ("attempt 1255490 done", "attempt 1255490 done"),  # 7 digits: an id, not a phone
        ("POST /hooks/anything/mtt/call", "POST /hooks/***/mtt/call"),
        (f"token {TOKEN} in text", "token *** in text"),
        ("", ""),
    ],
)
def test_mask_text(given: str, expected: str) -> None:
    add_secrets(TOKEN)
    try:
        assert mask_text(given) == expected
    finally:
        discard_secrets(TOKEN)


def test_mask_phone_is_the_text_masker() -> None:
    assert mask_phone(f"a {PHONE} b") == "a 7910*****89 b"


def test_short_secrets_are_not_masked_and_secrets_are_counted() -> None:
    add_secrets("ab", TOKEN)
    add_secrets(TOKEN)
    discard_secrets("ab", TOKEN)
    assert mask_text(f"ab {TOKEN}") == "ab ***"  # one registration of the token is left
    discard_secrets(TOKEN)
    assert mask_text(f"ab {TOKEN}") == f"ab {TOKEN}"


def test_formatter_masks_the_traceback_and_the_stack() -> None:
    try:
        raise RuntimeError(f"[parameters: ('{PHONE}', '/hooks/{TOKEN}/mtt/ivr')]")
    except RuntimeError as exc:
        exc_info = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", (PHONE,), exc_info)
    record.stack_info = "".join(traceback.format_stack()) + f"\nlocal {PHONE}"

    formatted = MaskingFormatter("%(message)s").format(record)

    assert PHONE not in formatted
    assert TOKEN not in formatted
    assert "RuntimeError" in formatted
    assert "7910*****89" in formatted


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The real ``configure_logging`` writing to a buffer; the previous logging restored."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", secrets=[TOKEN], stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        discard_secrets(TOKEN)


def test_a_database_error_on_apply_leaks_no_number_and_no_token(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    """An inbound STOP adds the sender to the do-not-call list; that insert fails. The
    traceback (logged with the SQL statement) must not carry the number."""
    engine = migrated(f"sqlite:///{tmp_path / 'dialer.db'}")
    now = datetime.now(UTC)
    events = [
        NormalizedEvent(
            kind=EventKind.SMS_INBOUND,
            provider_id=f"msg-{n}",
            sender=PHONE,
            text="STOP",
            extra={"callback": f"https://example.ru/hooks/{TOKEN}/mtt/sms"},
        )
        for n in range(2)
    ]
    try:
        with engine.begin() as connection:
            ids = [
                store_event(
                    connection,
                    route="sms",
                    raw=f"POST -\n?\nfrom={PHONE}&text=STOP",
                    event=event,
                    dedupe_key=dedupe_key(event),
                    now=now,
                )[0]
                for event in events
            ]
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON dnc "
                    "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
                )
            )
        counts = apply_events(engine, [i for i in ids if i is not None], now)
        with Session(engine) as session:
            errors = session.exec(select(ProviderEvent.error).order_by(col(ProviderEvent.id)))
            stored_errors = [e or "" for e in errors]
    finally:
        engine.dispose()

    logged = log_stream.getvalue()
    assert counts == {"error": 2}
    assert "forced failure" in logged  # the failure itself is logged, with its traceback
    assert "Traceback" in logged
    assert PHONE not in logged
    assert TOKEN not in logged
    assert all(PHONE not in error for error in stored_errors)


def test_commands_without_logging_of_their_own_still_mask(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = []
    try:
        install_fallback_logging()
        install_fallback_logging()  # once only
        assert len(root.handlers) == 1
        try:
            raise ValueError(f"number {PHONE}")
        except ValueError:
            logging.getLogger("dialer.test").exception("failed for %s", PHONE)
        logging.getLogger("dialer.test").info("not shown: %s", PHONE)
    finally:
        root.handlers[:] = saved

    err = capsys.readouterr().err
    assert err.startswith("failed for 7910*****89\nTraceback")
    assert "ValueError: number 7910*****89" in err
    assert PHONE not in err
    assert "not shown" not in err


def test_starting_the_simulator_keeps_uvicorn_logs_masked(log_stream: io.StringIO) -> None:
    # uvicorn.Config's default log_config (dictConfig) gave the shared "uvicorn" loggers
    # handlers of their own, unmasked, with propagate off: in `dialer run --sandbox` and
    # `dialer simulator` the collector's uvicorn lines (tracebacks included) bypassed the mask.
    from dialer.simulator import SimulatorConfig
    from dialer.simulator.server import SimulatorServer

    server = SimulatorServer(SimulatorConfig())
    try:
        logging.getLogger("uvicorn.error").error("request from 79103880489 to /hooks/x/mtt")
    finally:
        server.stop()

    assert "7910*****89" in log_stream.getvalue()
    assert not logging.getLogger("uvicorn").handlers
    assert not logging.getLogger("uvicorn.error").handlers
