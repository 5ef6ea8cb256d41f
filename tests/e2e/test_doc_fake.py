"""Whole campaigns through the real engine against ``tests.support.doc_fake``: a fake MTT
written from the provider documentation only, independent of ``dialer.simulator``.

Every contact must end with the right status, outcome, attempts, cause, dtmf and label for
every documented event shape; the fake must see exactly the calls the retry policy allows,
and every request must match the documentation field for field.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.db.models import Attempt
from dialer.embedded import Stack, embedded_stack, wait_until_done
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from dialer.settings import Settings
from tests.support.doc_fake import (
    INFORMER_FIELDS,
    IVR_FIELDS,
    SHAPES,
    CallScenario,
    DocFake,
    DocFakeServer,
    Shape,
)
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv

MAX_ATTEMPTS = 2
FAST_RETRY = fast_retry(MAX_ATTEMPTS)
LOGIN, SID = "doc-login", "accefd5c385-f2aa-3dd4-9c0b-01abf00ccfe"
SIP_ID, INFORMER = "74996489150", "informer"
CALLER_ID = "74950000000"
ELEVEN = re.compile(r"[0-9]{11}")

Spec = dict[str, Any]

ANSWERED: Spec = {
    "scenario": CallScenario("answered", duration=12),
    "expect": {
        "status": "reached",
        "outcome": "answered",
        "attempts": "1",
        "last_cause": "16",
        "duration": "12",
        "dtmf": "",
    },
}
BUSY: Spec = {
    "scenario": CallScenario("busy"),
    "expect": {
        "status": "not_reached",
        "outcome": "busy",
        "attempts": str(MAX_ATTEMPTS),
        "last_cause": "17",
    },
}
UNREACHABLE: Spec = {
    "scenario": CallScenario("unreachable"),
    "expect": {
        "status": "not_reached",
        "outcome": "unreachable",
        "attempts": str(MAX_ATTEMPTS),
        "last_cause": "20",
    },
}

IVR_NUMBERS: dict[str, Spec] = {
    "79260000001": ANSWERED,
    "79260000002": BUSY,
    "79260000003": UNREACHABLE,
    "79260000004": {
        "scenario": CallScenario("transfer", duration=50, digit=3),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "last_cause": "16",
            "dtmf": "3",
            "dtmf_label": "operator",
            "duration": "50",
            "transfer_duration": "30",
        },
    },
    "79260000005": {
        "scenario": CallScenario("notify", duration=9, digit=1),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "dtmf": "1",
            "dtmf_label": "pickup",
            "duration": "9",
        },
    },
    "79260000006": {
        "scenario": CallScenario("no_choice", duration=6),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "dtmf": "",
            "dtmf_label": "no choice",  # the dialer's label for a "null" choice
            "duration": "6",
        },
    },
    "79260000007": {
        "scenario": CallScenario("notify", duration=5, digit=9),
        "expect": {
            "status": "opted_out",
            "outcome": "opted_out",
            "attempts": "1",
            "dtmf": "9",
            "dtmf_label": "stop",
        },
    },
}
TTS_NUMBERS: dict[str, Spec] = {
    "79270000001": ANSWERED,
    "79270000002": BUSY,
    "79270000003": UNREACHABLE,
}
SMS_NUMBERS: dict[str, Spec] = {
    "79261110001": {
        "final": "delivered",
        "expect": {
            "status": "reached",
            "outcome": "delivered",
            "attempts": "1",
            "sms_status": "delivered",
        },
    },
    "79261110002": {
        "final": "undelivered",
        "expect": {
            "status": "not_reached",
            "outcome": "undelivered",
            "attempts": str(MAX_ATTEMPTS),
            "sms_status": "undelivered",
        },
    },
}


def settings_for(base: str) -> Settings:
    """The dialer pointed at the fake: sb-api, msapi, and the Telecom API (which nothing
    should call here: the fake records it as unexpected)."""
    return Settings(
        sandbox=True,
        mtt_sb_url=f"{base}/v1/sb",
        mtt_api_url=f"{base}/index.php",
        mtt_login=LOGIN,
        mtt_password=SecretStr("doc-password"),
        mtt_sip_id=SIP_ID,
        mtt_informer_method=INFORMER,
        msapi_url=base,
        msapi_account_sid=SID,
        msapi_token=SecretStr("doc-token"),
    )


@contextmanager
def running(
    engine: Engine, tmp_path: Path, toml: str, numbers: dict[str, Spec], fake: DocFake
) -> Iterator[Stack]:
    """Campaign created and loaded, fake and engine running, webhooks wired, campaign
    started; yields after the campaign is done and every event was delivered."""
    config = parse_config(toml)
    make_campaign(engine, config)
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    load_contacts(engine, config.name, write_csv(tmp_path / f"{config.name}.csv", rows))
    with (
        DocFakeServer(fake) as server,
        embedded_stack(settings_for(server.base_url), engine) as stack,
    ):
        token = stack.settings.webhook_token.get_secret_value()
        fake.call_webhook_url = f"{stack.collector_url}/hooks/{token}/mtt/call"
        fake.sms_webhook_url = f"{stack.collector_url}/hooks/{token}/mtt/sms"
        control_campaign(stack.settings, engine, config.name, "start")
        assert wait_until_done(engine, config.name, 60) == "completed"
        deadline = time.monotonic() + 5
        while fake.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield stack


def exported(engine: Engine, name: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    out = tmp_path / f"{name}-export.csv"
    export_campaign(engine, name, out, fmt="csv", level="contacts")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return {row["phone"]: row for row in csv.DictReader(handle)}


def assert_rows(result: dict[str, dict[str, str]], numbers: dict[str, Spec]) -> None:
    assert set(result) == set(numbers)
    wrong = {
        (number, key): (result[number][key], value)
        for number, spec in numbers.items()
        for key, value in spec["expect"].items()
        if result[number][key] != value
    }
    assert not wrong, f"(phone, column): (got, expected): {wrong}"


def attempts_by_id(engine: Engine) -> dict[str, Attempt]:
    with Session(engine) as session:
        return {str(a.id): a for a in session.exec(select(Attempt)).all()}


def assert_fake_clean(fake: DocFake, user: str) -> None:
    assert fake.unexpected == [], fake.unexpected
    assert fake.refused == [], fake.refused
    assert fake.auth == {f"basic:{user}"}
    failed = [(e.url, e.body, e.status) for e in fake.sent if not 200 <= e.status < 300]
    assert not failed, failed


def assert_no_double_dial(
    seen: Counter[str], numbers: dict[str, Spec], attempts: dict[str, Attempt]
) -> None:
    """Exactly as many requests per number as attempts the policy allows, and one request
    per attempt."""
    expected = {number: int(spec["expect"]["attempts"]) for number, spec in numbers.items()}
    assert dict(seen) == expected
    dialled = [a for a in attempts.values() if a.status != "cancelled"]
    assert len(dialled) == sum(expected.values())


def assert_call_requests_follow_docs(
    fake: DocFake, attempts: dict[str, Attempt], *, ivr: bool, notify_url: str
) -> None:
    mess_ids = [str(r["data"]["messId"]) for r in fake.call_requests]
    assert len(mess_ids) == len(set(mess_ids)), "a messId was sent twice"
    for request in fake.call_requests:
        assert set(request) == {"method", "data"}, request
        assert request["method"] == ("ivr-api" if ivr else INFORMER)
        data = request["data"]
        required = {"b_number", "sip_id", "messId", "messText"} | ({"a_number"} if ivr else set())
        assert required <= set(data) <= (IVR_FIELDS if ivr else INFORMER_FIELDS), data
        for key in ("b_number", "sip_id", "a_number"):
            if key in data:
                assert isinstance(data[key], str), (key, data)
                assert ELEVEN.fullmatch(data[key]), (key, data)
        assert data["sip_id"] == SIP_ID
        assert data.get("a_number", CALLER_ID) == CALLER_ID
        assert str(data["messText"]).startswith("Заказ")
        attempt = attempts[data["messId"]]  # messId is our attempt id
        assert attempt.number == data["b_number"]
        assert re.fullmatch("[0-9a-f]{16}", attempt.provider_id or ""), attempt.provider_id
        if ivr:
            assert data["dtmf"] == [
                {"dtmf_id": "1", "type": "notify", "value": notify_url},
                {"dtmf_id": "3", "type": "transfer", "value": "74997090111"},
                {"dtmf_id": "9", "type": "notify", "value": notify_url},
            ]
        else:
            assert not {"dtmf", "lang_code"} & set(data), data


def call_fake(numbers: dict[str, Spec], shape: Shape) -> DocFake:
    return DocFake(
        event_shape=shape,
        calls={n: spec["scenario"] for n, spec in numbers.items()},
        sip_id=SIP_ID,
        informer_method=INFORMER,
        account_sid=SID,
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", SHAPES)
def test_ivr_campaign_against_doc_fake(engine: Engine, tmp_path: Path, shape: Shape) -> None:
    toml = campaign_toml(name="ivr", channel="ivr", text="Заказ {name} готов") + FAST_RETRY
    fake = call_fake(IVR_NUMBERS, shape)
    with running(engine, tmp_path, toml, IVR_NUMBERS, fake) as stack:
        token = stack.settings.webhook_token.get_secret_value()
        notify_url = f"{stack.collector_url}/hooks/{token}/mtt/ivr"

    assert_rows(exported(engine, "ivr", tmp_path), IVR_NUMBERS)
    attempts = attempts_by_id(engine)
    assert_fake_clean(fake, LOGIN)
    assert_no_double_dial(fake.calls_by_number, IVR_NUMBERS, attempts)
    assert_call_requests_follow_docs(fake, attempts, ivr=True, notify_url=notify_url)
    notified = [e for e in fake.sent if "n_" in e.body]
    assert notified
    assert {e.url for e in notified} == {notify_url}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", SHAPES)
def test_tts_campaign_against_doc_fake(sqlite_engine: Engine, tmp_path: Path, shape: Shape) -> None:
    toml = campaign_toml(name="tts", text="Заказ {name} готов", caller_id=CALLER_ID) + FAST_RETRY
    fake = call_fake(TTS_NUMBERS, shape)
    with running(sqlite_engine, tmp_path, toml, TTS_NUMBERS, fake):
        pass

    assert_rows(exported(sqlite_engine, "tts", tmp_path), TTS_NUMBERS)
    attempts = attempts_by_id(sqlite_engine)
    assert_fake_clean(fake, LOGIN)
    assert_no_double_dial(fake.calls_by_number, TTS_NUMBERS, attempts)
    assert_call_requests_follow_docs(fake, attempts, ivr=False, notify_url="")


@pytest.mark.timeout(120)
def test_sms_campaign_against_doc_fake(sqlite_engine: Engine, tmp_path: Path) -> None:
    sender = "79587625004"
    toml = (
        campaign_toml(name="sms", channel="sms", text="Заказ {name} готов", caller_id=sender)
        + FAST_RETRY
    )
    fake = DocFake(
        sms_final={n: spec["final"] for n, spec in SMS_NUMBERS.items()},
        account_sid=SID,
        out_number=sender,
    )
    with running(sqlite_engine, tmp_path, toml, SMS_NUMBERS, fake):
        pass

    assert_rows(exported(sqlite_engine, "sms", tmp_path), SMS_NUMBERS)
    attempts = attempts_by_id(sqlite_engine)
    assert_fake_clean(fake, SID)
    assert_no_double_dial(fake.sms_by_to, SMS_NUMBERS, attempts)
    tags = [r["tag"] for r in fake.sms_requests]
    assert len(tags) == len(set(tags))
    for request in fake.sms_requests:
        assert set(request) <= {"from", "to", "text", "tag"}, request
        assert {"from", "to", "text"} <= set(request)
        assert request["from"] == sender
        assert ELEVEN.fullmatch(request["to"])
        assert request["text"].startswith("Заказ")
        assert attempts[request["tag"]].number == request["to"]  # tag is our attempt id
    # the documented status sequence, form-encoded, fields in the documented order
    first = fake.sent[0]
    assert first.content_type == "application/x-www-form-urlencoded"
    assert [pair.split("=")[0] for pair in first.body.split("&")] == [
        "account_sid",
        "direction",
        "from",
        "hash",
        "message_sid",
        "status",
        "text",
        "to",
    ]
    events = [dict(parse_qsl(e.body)) for e in fake.sent]
    statuses = Counter(e["status"] for e in events)
    assert statuses == {"queued": 3, "prebilling": 3, "sent": 3, "delivered": 1, "undelivered": 2}
    # each attempt kept the message_sid of the uri msapi answered (msg<uuid4>)
    assert {a.provider_id for a in attempts.values()} == {e["message_sid"] for e in events}
