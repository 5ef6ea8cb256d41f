"""Whatever arrives on a webhook route, the answer is 2xx or 4xx, never 5xx."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from dialer.collector.server import CollectorServer
from dialer.db.engine import make_engine
from dialer.db.migrate import upgrade
from dialer.settings import Settings
from tests.collector.conftest import TOKEN, throwaway_postgres

FIELDS = [
    "date_time",
    "id",
    "CallID",
    "event",
    "dtmf",
    "type",
    "data",
    "message_sid",
    "status",
    "direction",
    "from",
    "to",
    "text",
    "tag",
]
EVENT_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "o_79103880489",
            "h_79103880489_16_4",
            "n_79103880489",
            "null",
            "transfer",
            "notify",
            "2019-03-29-11-37-13",
            "outbound",
            "inbound",
            "delivered",
            "1",
        ]
    ),
    st.from_regex(r"[ohn]_[0-9]{8,16}(_[0-9]{1,12}){0,3}", fullmatch=True),
    st.integers().map(str),
)
RECORDS = st.dictionaries(st.sampled_from(FIELDS), EVENT_VALUES, max_size=8)
ODD_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(min_size=90, max_size=160),
    st.sampled_from(["a\x00b", "\ud800", "x\udfff"]),  # NUL, lone surrogates (JSON escapes)
)
# Well-formed events with odd values: these reach the inbox, so storage is fuzzed too.
CALL_RECORDS = st.fixed_dictionaries(
    {
        "event": st.from_regex(
            r"(o|n)_[0-9]{10,15}|h_[0-9]{10,15}_[0-9]{1,9}_[0-9]{1,9}", fullmatch=True
        )
    },
    optional={
        "date_time": st.from_regex(
            r"20[0-9]{2}-0[1-9]-[0-2][1-9]-[01][0-9]-[0-5][0-9]-[0-5][0-9]", fullmatch=True
        ),
        "id": st.one_of(st.from_regex(r"[0-9]{1,18}", fullmatch=True), ODD_TEXT),
        "CallID": ODD_TEXT,
        "dtmf": st.sampled_from(["null", "1", "9", ""]),
        "type": st.one_of(st.sampled_from(["transfer", "notify"]), ODD_TEXT),
    },
)
SMS_RECORDS = st.fixed_dictionaries(
    {
        "message_sid": ODD_TEXT.filter(str.strip),
        "status": ODD_TEXT.filter(str.strip),
        "direction": st.sampled_from(["outbound", "inbound", "INBOUND"]),
    },
    optional={"from": ODD_TEXT, "to": ODD_TEXT, "text": ODD_TEXT, "tag": ODD_TEXT},
)


def _form(record: dict[str, str]) -> str:
    return urlencode(record, errors="surrogatepass")


def _json_shapes(record: dict[str, str]) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            json.dumps(record),
            json.dumps({"data": record}),
            json.dumps({"data": _form(record)}),
            json.dumps([record, record]),
            _form(record),
            "{" + json.dumps(_form(record)) + "},",
        ]
    )


BODIES = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    RECORDS.flatmap(_json_shapes).map(str.encode),
    CALL_RECORDS.flatmap(_json_shapes).map(str.encode),
    SMS_RECORDS.flatmap(_json_shapes).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(FIELDS), children, max_size=4)
        ),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
)
HEADER_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + " ;=/-+.,\"'*", max_size=60
).map(str.strip)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain; charset=cp1251",
            "application/json; charset=utf-16",
            "text/plain; charset=rot13",
            "text/plain; charset=base64",
            "multipart/form-data; boundary=x",
        ]
    ),
    HEADER_TEXT,
)
QUERIES = st.one_of(
    st.just(""),
    RECORDS.map(_form),
    st.text(alphabet=string.printable.replace("#", "").replace(" ", ""), max_size=80).map(
        lambda raw: quote(raw, safe="=&%+;/?")
    ),
)


@contextmanager
def _serve(url: str) -> Iterator[httpx.Client]:
    engine = make_engine(url)
    config = Settings.model_validate({"webhook_token": SecretStr(TOKEN), "max_body_bytes": 512})
    server = CollectorServer(config, engine)
    try:
        with httpx.Client(base_url=server.start(), timeout=30) as client:
            yield client
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    path = tmp_path_factory.mktemp("fuzz") / "dialer.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    with _serve(f"sqlite:///{path}") as client:
        yield client


@pytest.fixture(scope="module")
def pg_fuzz_client() -> Iterator[httpx.Client]:
    with throwaway_postgres() as url, _serve(url) as client:
        yield client


def _send(
    client: httpx.Client, route: str, method: str, body: bytes, content_type: str | None, query: str
) -> None:
    headers = {"content-type": content_type} if content_type is not None else {}
    url = f"/hooks/{TOKEN}/mtt/{route}" + (f"?{query}" if query else "")

    response = client.request(method, url, content=body, headers=headers)

    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        answer = response.json()
        assert answer["ok"] is True
        assert answer["stored"] + answer["duplicates"] >= 1


FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("route", ["call", "ivr", "sms"])
@FUZZ_SETTINGS
@given(
    method=st.sampled_from(["POST", "POST", "GET"]),
    body=BODIES,
    content_type=CONTENT_TYPES,
    query=QUERIES,
)
def test_no_input_produces_a_5xx(
    fuzz_client: httpx.Client,
    route: str,
    method: str,
    body: bytes,
    content_type: str | None,
    query: str,
) -> None:
    _send(fuzz_client, route, method, body, content_type, query)


@pytest.mark.integration
@pytest.mark.parametrize("route", ["call", "sms"])
@settings(FUZZ_SETTINGS, max_examples=150)
@given(
    body=st.one_of(RECORDS, CALL_RECORDS, SMS_RECORDS).flatmap(_json_shapes).map(str.encode),
    query=QUERIES,
)
def test_no_event_field_produces_a_5xx_on_postgresql(
    pg_fuzz_client: httpx.Client, route: str, body: bytes, query: str
) -> None:
    _send(pg_fuzz_client, route, "POST", body, None, query)
