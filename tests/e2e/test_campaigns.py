"""Whole campaigns through the real engine (scheduler, Dramatiq worker, provider clients,
collector, outcome engine) against the built-in MTT simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.db.models import Attempt, Campaign, Contact, DncEntry
from dialer.embedded import embedded_stack, wait_until_done
from dialer.export.run import export_campaign
from dialer.export.status import campaign_status
from dialer.loader.load import load_contacts
from dialer.report import write_report
from dialer.settings import Settings
from dialer.simulator.config import Override, SimulatorConfig
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv

FAST_RETRY = fast_retry(3)

IVR_NUMBERS: dict[str, dict[str, Any]] = {
    # number: (simulator override, expected contact row)
    "79160000001": {
        "override": Override(outcome="answered", listen_seconds=12, dtmf=1),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "dtmf": "1",
            "dtmf_label": "pickup",
        },
    },
    "79160000002": {
        "override": Override(outcome="answered", listen_seconds=8, dtmf=3, transfer_seconds=30),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "dtmf": "3",
            "dtmf_label": "operator",
            "transfer_duration": "30",
        },
    },
    "79160000003": {
        "override": Override(outcome="busy"),
        "expect": {"status": "not_reached", "outcome": "busy", "attempts": "3", "last_cause": "17"},
    },
    "79160000004": {
        "override": Override(outcome="unallocated", cause=1),
        "expect": {
            "status": "invalid",
            "outcome": "invalid_number",
            "attempts": "1",
            "last_cause": "1",
        },
    },
    "79160000005": {
        "override": Override(outcome="answered", listen_seconds=5, dtmf=None),
        "expect": {"status": "reached", "outcome": "answered", "attempts": "1", "dtmf": ""},
    },
    "79160000006": {
        "override": Override(outcome="answered", listen_seconds=5, dtmf=9),
        "expect": {
            "status": "opted_out",
            "outcome": "opted_out",
            "attempts": "1",
            "dtmf": "9",
            "dtmf_label": "stop",
        },
    },
    "79160000007": {
        "override": Override(outcome="no_answer", cause=19),
        "expect": {
            "status": "not_reached",
            "outcome": "no_answer",
            "attempts": "3",
            "last_cause": "19",
        },
    },
}


def simulator(numbers: dict[str, dict[str, Any]], **extra: Any) -> SimulatorConfig:
    return SimulatorConfig(
        speed=200,
        seed=1,
        allow_http_notify=True,
        overrides={n: spec["override"] for n, spec in numbers.items()},
        **extra,
    )


def exported(engine: Engine, name: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    out = tmp_path / f"{name}.csv"
    export_campaign(engine, name, out, fmt="csv", level="contacts")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return {row["phone"]: row for row in csv.DictReader(handle)}


def assert_status_agrees_with_exports(engine: Engine, name: str, tmp_path: Path) -> None:
    """``dialer status`` counts what the exports hold, row for row."""
    contacts = list(exported(engine, name, tmp_path).values())
    out = tmp_path / f"{name}-attempts.csv"
    export_campaign(engine, name, out, fmt="csv", level="attempts")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        attempts = list(csv.DictReader(handle))
    with Session(engine) as session:
        campaign = session.exec(select(Campaign).where(Campaign.name == name)).one()
    status = campaign_status(engine, campaign).model_dump(mode="json")

    by_status = Counter(row["status"] for row in contacts)
    assert {k: v for k, v in status["counts"].items() if v} == dict(by_status)
    assert status["outcomes"] == dict(Counter(r["outcome"] for r in contacts if r["outcome"]))
    by_dtmf = Counter(row["dtmf"] for row in contacts if row["dtmf"])
    assert {digit: item["count"] for digit, item in status["dtmf"].items()} == dict(by_dtmf)
    assert status["attempts"] == len(attempts) == sum(int(r["attempts"]) for r in contacts)
    assert status["contacts"] == len(contacts)

    write_report(engine, name, tmp_path / f"{name}.html")
    html = (tmp_path / f"{name}.html").read_text("utf-8")
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    assert embedded is not None
    report = json.loads(embedded.group(1))
    funnel = {step["key"]: step["count"] for step in report["funnel"]}
    answered = {r["phone"] for r in attempts if r["outcome"] in ("answered", "delivered")}
    assert funnel["loaded"] == len(contacts)
    assert funnel["dialled"] == sum(1 for row in contacts if int(row["attempts"]) > 0)
    assert funnel["answered"] == len(answered)
    for digit, count in by_dtmf.items():
        assert funnel[f"dtmf:{digit}"] == count
    assert sum(point["count"] for point in report["timeline"]["points"]) == len(attempts)
    by_cause = Counter(r["cause"] or "None" for r in attempts if r["outcome"])  # SMS: no cause
    assert {str(c["cause"]): c["count"] for c in report["causes"]} == dict(by_cause)


def run_campaign(
    engine: Engine, tmp_path: Path, toml: str, rows: str, sim: SimulatorConfig, timeout: float = 90
) -> tuple[dict[str, Any], str]:
    config = parse_config(toml)
    make_campaign(engine, config)
    load_contacts(engine, config.name, write_csv(tmp_path / "c.csv", rows))
    with embedded_stack(Settings(sandbox=True), engine, simulator=sim) as stack:
        control_campaign(stack.settings, engine, config.name, "start")
        state = wait_until_done(engine, config.name, timeout)
        assert stack.simulator is not None
        stats = httpx.get(f"{stack.simulator.base_url}/_sim/stats").json()
    return stats, state


def assert_no_double_dial(stats: dict[str, Any], engine: Engine) -> None:
    assert not stats["reused_mess_ids"], stats["reused_mess_ids"]
    with Session(engine) as session:
        attempts = session.exec(select(Attempt)).all()
    dialled = [a for a in attempts if a.status not in ("cancelled",)]
    assert sum(stats["calls_by_number"].values()) + sum(
        stats.get("sms_by_number", {}).values()
    ) == len(dialled)


@pytest.mark.timeout(180)
def test_ivr_campaign_ends_right_for_every_contact(engine: Engine, tmp_path: Path) -> None:
    toml = (
        campaign_toml(name="ivr", channel="ivr", text="Заказ {name} готов", extra="") + FAST_RETRY
    )
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(IVR_NUMBERS))
    # Every webhook may come twice and a call's events in any order.
    faults = {"duplicate_rate": 0.5, "reorder_rate": 0.5}
    stats, state = run_campaign(engine, tmp_path, toml, rows, simulator(IVR_NUMBERS, faults=faults))

    assert state == "completed"
    assert stats["webhooks_duplicated"] > 0
    result = exported(engine, "ivr", tmp_path)
    for number, spec in IVR_NUMBERS.items():
        row = result[number]
        for key, value in spec["expect"].items():
            assert row[key] == value, (number, key, row)
    with Session(engine) as session:
        assert session.get(DncEntry, "79160000006") is not None
    assert_no_double_dial(stats, engine)
    assert stats["calls_by_number"]["79160000003"] == 3
    assert stats["peak_rps"] <= 21
    assert_status_agrees_with_exports(engine, "ivr", tmp_path)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("shape", ["json", "kv", "data"])
def test_tts_campaign_in_every_event_shape(
    sqlite_engine: Engine, tmp_path: Path, shape: str
) -> None:
    numbers = {
        k: v for k, v in IVR_NUMBERS.items() if k in ("79160000003", "79160000004", "79160000007")
    }
    numbers["79160000011"] = {
        "override": Override(outcome="answered", listen_seconds=7),
        "expect": {
            "status": "reached",
            "outcome": "answered",
            "attempts": "1",
            "duration": "7",
            "last_cause": "16",
        },
    }
    toml = campaign_toml(name="tts", text="Привет {name}") + FAST_RETRY
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    stats, state = run_campaign(
        sqlite_engine, tmp_path, toml, rows, simulator(numbers, event_shape=shape)
    )

    assert state == "completed"
    result = exported(sqlite_engine, "tts", tmp_path)
    for number, spec in numbers.items():
        for key, value in spec["expect"].items():
            assert result[number][key] == value, (number, key, result[number])
    assert_no_double_dial(stats, sqlite_engine)


@pytest.mark.timeout(180)
def test_sms_campaign_statuses_and_stop_reply(engine: Engine, tmp_path: Path) -> None:
    numbers: dict[str, dict[str, Any]] = {
        "79161110001": {
            "override": Override(sms_status="delivered"),
            "expect": {"status": "opted_out", "sms_status": "delivered", "attempts": "1"},
        },
        "79161110002": {
            "override": Override(sms_status="undelivered"),
            "expect": {
                "status": "not_reached",
                "sms_status": "undelivered",
                "attempts": "2",
                "outcome": "undelivered",
            },
        },
        "79161110003": {
            "override": Override(sms_status="expired"),
            "expect": {"status": "not_reached", "outcome": "expired", "attempts": "2"},
        },
    }
    toml = campaign_toml(
        name="sms", channel="sms", text="Привет {name}", caller_id="79587625012"
    ) + fast_retry(2)
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    config = parse_config(toml)
    make_campaign(engine, config)
    load_contacts(engine, "sms", write_csv(tmp_path / "c.csv", rows))
    with embedded_stack(Settings(sandbox=True), engine, simulator=simulator(numbers)) as stack:
        control_campaign(stack.settings, engine, "sms", "start")
        assert wait_until_done(engine, "sms", 90) == "completed"
        assert stack.simulator is not None
        base = stack.simulator.base_url
        stats = httpx.get(f"{base}/_sim/stats").json()
        reply = {"from": "79161110001", "to": "79587625012", "text": " стоп "}
        assert httpx.post(f"{base}/_sim/inbound-sms", json=reply).status_code < 300
        deadline_check(engine, "79161110001")
    result = exported(engine, "sms", tmp_path)
    for number, spec in numbers.items():
        for key, value in spec["expect"].items():
            assert result[number][key] == value, (number, key, result[number])
    assert_no_double_dial(stats, engine)
    assert_status_agrees_with_exports(engine, "sms", tmp_path)


def deadline_check(engine: Engine, phone: str, timeout: float = 15) -> None:
    """An inbound STOP opts the contact out; its SMS status stays as it was."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            contact = session.exec(select(Contact).where(Contact.phone == phone)).one()
        if contact.status == "opted_out":
            assert contact.sms_status == "delivered"
            return
        time.sleep(0.2)
    pytest.fail(f"{phone} was not opted out by its STOP reply")


@pytest.mark.timeout(180)
def test_lost_events_are_settled_from_call_history(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Every webhook is dropped: after the event timeout the scheduler asks getCallHistory,
    which knows how each call ended."""
    numbers = {
        "79160000021": {
            "override": Override(outcome="answered", listen_seconds=9),
            "expect": {
                "status": "reached",
                "outcome": "answered",
                "last_cause": "16",
                "attempts": "1",
            },
        },
        "79160000022": {
            "override": Override(outcome="busy"),
            "expect": {"outcome": "busy", "last_cause": "17"},
        },
    }
    toml = campaign_toml(name="lost", text="Привет {name}") + fast_retry(1, event_timeout="3s")
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    sim = simulator(numbers, faults={"drop_rate": 1.0})
    stats, state = run_campaign(sqlite_engine, tmp_path, toml, rows, sim)

    assert state == "completed"
    assert stats["webhooks_dropped"] >= 4
    result = exported(sqlite_engine, "lost", tmp_path)
    for number, spec in numbers.items():
        for key, value in spec["expect"].items():
            assert result[number][key] == value, (number, key, result[number])
    with Session(sqlite_engine) as session:
        errors = {a.error for a in session.exec(select(Attempt)).all()}
    assert errors == {"no final event; settled from getCallHistory"}


@pytest.mark.timeout(180)
def test_pause_resume_and_cancel_act_within_a_second(sqlite_engine: Engine, tmp_path: Path) -> None:
    numbers = [f"7916555{i:04d}" for i in range(30)]
    toml = campaign_toml(name="ctl", text="Привет {name}") + fast_retry(rps=4)
    make_campaign(sqlite_engine, parse_config(toml))
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    load_contacts(sqlite_engine, "ctl", write_csv(tmp_path / "c.csv", rows))
    sim = SimulatorConfig(speed=200, seed=2, allow_http_notify=True)

    def calls(base: str) -> int:
        return int(httpx.get(f"{base}/_sim/stats").json()["calls_accepted"])

    with embedded_stack(Settings(sandbox=True), sqlite_engine, simulator=sim) as stack:
        assert stack.simulator is not None
        base = stack.simulator.base_url or ""
        control_campaign(stack.settings, sqlite_engine, "ctl", "start")
        while calls(base) < 4:
            time.sleep(0.05)
        control_campaign(stack.settings, sqlite_engine, "ctl", "pause")
        time.sleep(1.0)
        paused_at = calls(base)
        time.sleep(2.5)
        assert calls(base) == paused_at  # 2.5 s at 4 rps would have been 10 more calls
        assert paused_at < len(numbers)

        control_campaign(stack.settings, sqlite_engine, "ctl", "resume")
        time.sleep(1.5)
        assert calls(base) > paused_at

        control_campaign(stack.settings, sqlite_engine, "ctl", "cancel")
        time.sleep(1.0)
        cancelled_at = calls(base)
        time.sleep(2.0)
        assert calls(base) == cancelled_at
        assert wait_until_done(sqlite_engine, "ctl", 30) == "cancelled"
    with Session(sqlite_engine) as session:
        contacts = session.exec(select(Contact)).all()
    statuses = {c.status for c in contacts}
    assert "cancelled" in statuses
    # Calls in flight at the cancel finish with their outcome; nothing waits any more.
    assert statuses <= {"cancelled", "reached", "not_reached", "invalid", "in_progress"}
    assert sum(c.status == "cancelled" for c in contacts) >= len(numbers) - cancelled_at
