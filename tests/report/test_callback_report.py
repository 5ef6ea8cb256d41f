"""The report of an agent-callback campaign: an attempts funnel (dialled → agent answered →
contact answered → talked), talk time, the exact cost and one row per agent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.loader.load import load_contacts
from dialer.report.charts import CHART_FILLS
from dialer.report.data import (
    AgentRow,
    ReportData,
    agent_table,
    collect_report,
    fill_timeline,
    funnel_steps,
    total_cost,
)
from dialer.report.page import DATA_ELEMENT_ID, callback_sections, duration, money, render_page
from tests.support.factories import make_campaign, make_config, write_csv

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ANN, BOB, CAT = "79031230001", "79031230002", "79031230003"
"""The campaign's agents; CAT takes no callback."""
GONE = "79031230009"
"""An agent no longer in the campaign file, named by an old attempt."""
CALLBACK = f'[callback]\nagents = ["{ANN}", "{BOB}", "{CAT}"]\n'
CONTACTS = (
    "phone,timezone\n79161230001,Europe/Moscow\n79161230002,Asia/Vladivostok\n"
    "79161230003,Europe/Moscow\n79161230004,Europe/Moscow\n"
)


def _talked(agent: str, seconds: int, cost: str) -> dict[str, Any]:
    return {
        "outcome": "connected",
        "agent": agent,
        "talk_seconds": seconds,
        "duration": seconds,
        "cost": cost,
        "answered_at": True,
    }


ATTEMPTS: tuple[tuple[str, dict[str, Any]], ...] = (
    # Claimed, then dropped before sending: not dialled.
    ("79161230001", {"status": "cancelled", "counts_budget": False}),
    ("79161230001", {"outcome": "agent_no_answer", "counts_budget": False}),
    ("79161230001", _talked(ANN, 120, "2.98")),
    # BOB answered, the contact did not: still a cost.
    ("79161230002", {"outcome": "no_answer", "agent": BOB, "cost": "0.50"}),
    ("79161230002", _talked(BOB, 65, "1.2345")),
    ("79161230002", _talked(GONE, 10, "0.01")),
    ("79161230004", {"status": "queued", "dialing_at": None}),
    # ANN and the contact are talking now: no outcome, talk time or cost yet.
    ("79161230003", {"status": "submitted", "agent": ANN, "answered_at": True}),
)


def load_callbacks(engine: Engine, tmp_path: Path) -> None:
    make_campaign(
        engine, make_config(name="call-me", channel="callback", text="Hi", extra=CALLBACK)
    )
    load_contacts(engine, "call-me", write_csv(tmp_path / "c.csv", CONTACTS), now=T0)
    with session_scope(engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact)).all()}
        for n, (phone, fields) in enumerate(ATTEMPTS):
            at = T0 + timedelta(minutes=10 * n)
            values: dict[str, Any] = {"status": "completed", "dialing_at": at, **fields}
            if values.get("answered_at"):
                values["answered_at"] = at + timedelta(seconds=25)
            contact = contacts[phone]
            session.add(
                Attempt(
                    campaign_id=contact.campaign_id,
                    contact_id=contact.id or 0,
                    channel="callback",
                    number=phone,
                    created_at=at,
                    updated_at=at,
                    **values,
                )
            )
        for phone in ("79161230001", "79161230002"):
            contacts[phone].status, contacts[phone].outcome = "reached", "connected"
        for phone in ("79161230003", "79161230004"):
            contacts[phone].status = "in_progress"
        session.add_all(contacts.values())


def _report(engine: Engine) -> tuple[str, dict[str, Any]]:
    with session_scope(engine) as session:
        campaign = get_campaign(session, "call-me")
    html = render_page(collect_report(engine, campaign, NOW))
    match = re.search(
        rf'<script type="application/json" id="{DATA_ELEMENT_ID}">(.*?)</script>', html, re.S
    )
    assert match is not None
    return html, json.loads(match.group(1))


def test_callback_report_numbers(engine: Engine, tmp_path: Path) -> None:
    load_callbacks(engine, tmp_path)
    _, data = _report(engine)
    assert data["channel"] == "callback"
    assert [(s["key"], s["label"], s["count"]) for s in data["funnel"]] == [
        ("sent", "dialled", 6),  # neither queued nor cancelled
        ("agent_answered", "agent answered", 5),
        ("contact_answered", "contact answered", 4),  # one of them still talking
        ("talked", "talked", 3),
    ]
    assert data["callback"] == {
        "talk_seconds": 195,
        "cost": "4.7245",  # exact: 2.98 + 0.50 + 1.2345 + 0.01
        "costed": 4,
        "unreadable_costs": 0,
        "agents": [
            {"agent": ANN, "taken": 2, "talked": 1, "talk_seconds": 120},
            {"agent": BOB, "taken": 2, "talked": 1, "talk_seconds": 65},
            {"agent": CAT, "taken": 0, "talked": 0, "talk_seconds": 0},
            {"agent": GONE, "taken": 1, "talked": 1, "talk_seconds": 10},
        ],
    }
    finished = [h for h in data["hours"] if h["attempts"]]
    assert sum(h["attempts"] for h in finished) == 5  # with an outcome
    assert sum(h["answered"] for h in finished) == 3  # talked
    assert data["status"]["counts"]["reached"] == 2


def test_callback_report_page(engine: Engine, tmp_path: Path) -> None:
    load_callbacks(engine, tmp_path)
    html, _ = _report(engine)
    assert "Callback attempts at each step; percentages are of those dialled." in html
    assert "5 · 83.3%" in html  # agent answered, of those dialled
    assert "<h2>Agents</h2>" in html
    assert "talk time <b>0:03:15</b> (195 s) · cost <b>4.7245 RUB</b>" in html
    rows = re.findall(r"<tr><td>(\d+)</td>((?:<td class=\"n\">[\d,]+</td>){3})</tr>", html)
    assert [(agent, re.findall(r">([\d,]+)<", cells)) for agent, cells in rows] == [
        (ANN, ["2", "1", "120"]),
        (BOB, ["2", "1", "65"]),
        (CAT, ["0", "0", "0"]),
        (GONE, ["1", "1", "10"]),
    ]
    assert "Talked rate by local hour" in html
    assert "<dt>agent answered</dt>" in html
    assert html.count("<svg") == 4
    for fill in CHART_FILLS:
        assert f'fill="{fill}"' in html
    assert html.count("<script") == 1


def test_callback_campaign_without_attempts(engine: Engine) -> None:
    make_campaign(
        engine, make_config(name="call-me", channel="callback", text="Hi", extra=CALLBACK)
    )
    html, data = _report(engine)
    assert "no callback attempts dialled yet" in html
    assert [s["count"] for s in data["funnel"]] == [0, 0, 0, 0]
    assert data["callback"]["cost"] == "0"
    assert [a["taken"] for a in data["callback"]["agents"]] == [0, 0, 0]


@pytest.mark.parametrize(
    ("channel", "counts", "expected"),
    [
        (
            "callback",
            {"loaded": 9, "dialled": 8, "sent": 7, "agent_answered": 5, "talked": 2},
            [
                ("sent", "dialled", 7),
                ("agent_answered", "agent answered", 5),
                ("contact_answered", "contact answered", 0),
                ("talked", "talked", 2),
            ],
        ),
        (
            "tts",
            {"loaded": 9, "dialled": 8, "answered": 4, "sent": 7},
            [("loaded", "loaded", 9), ("dialled", "dialled", 8), ("answered", "answered", 4)],
        ),
        (
            "sms",
            {"loaded": 9, "dialled": 8, "answered": 4},
            [("loaded", "loaded", 9), ("dialled", "sent", 8), ("answered", "delivered", 4)],
        ),
    ],
)
def test_each_channel_shows_its_own_steps(
    channel: str, counts: dict[str, int], expected: list[tuple[str, str, int]]
) -> None:
    steps = funnel_steps(channel=channel, dtmf={}, menu=[], **counts)
    assert [(s.key, s.label, s.count) for s in steps] == expected


@pytest.mark.parametrize(
    ("rows", "total", "costed", "unreadable"),
    [
        ([], Decimal(0), 0, 0),
        (
            [("0.1", 1), ("0.2", 1)],
            Decimal("0.3"),
            2,
            0,
        ),  # a float sum would be 0.30000000000000004
        ([("2.98", 3), ("0.0125", 2)], Decimal("8.965"), 5, 0),
        ([("-0.50", 1), ("1E+1", 1)], Decimal("9.50"), 2, 0),
        ([("2.98", 1), ("n/a", 2), ("NaN", 1)], Decimal("2.98"), 1, 3),
    ],
)
def test_total_cost_is_exact(
    rows: list[tuple[str, int]], total: Decimal, costed: int, unreadable: int
) -> None:
    assert total_cost(rows) == (total, costed, unreadable)


@pytest.mark.parametrize(
    ("agents", "rows", "expected"),
    [
        ((), [], ()),
        ((ANN, BOB), [], (AgentRow(ANN, 0, 0, 0), AgentRow(BOB, 0, 0, 0))),
        (
            (ANN, BOB),
            [(GONE, 1, 0, 0), (BOB, 4, 2, 90), ("79031230008", 3, 1, 5)],
            (
                AgentRow(ANN, 0, 0, 0),
                AgentRow(BOB, 4, 2, 90),
                AgentRow("79031230008", 3, 1, 5),  # others: most callbacks first
                AgentRow(GONE, 1, 0, 0),
            ),
        ),
    ],
)
def test_agent_table_lists_the_campaigns_agents_first(
    agents: tuple[str, ...],
    rows: list[tuple[str, int, int, int]],
    expected: tuple[AgentRow, ...],
) -> None:
    assert agent_table(agents, rows) == expected


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal(0), "0.00"),
        (Decimal("2.9"), "2.90"),
        (Decimal("1234.5"), "1,234.50"),
        (Decimal("4.7245"), "4.7245"),
        (Decimal("1E+1"), "10.00"),
    ],
)
def test_money_is_never_rounded(amount: Decimal, text: str) -> None:
    assert money(amount) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00:00"), (195, "0:03:15"), (90061, "25:01:01")]
)
def test_duration(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_other_channels_have_no_callback_data() -> None:
    data = ReportData(
        campaign="c",
        channel="tts",
        state="draft",
        state_reason=None,
        generated_at=NOW,
        status={},
        funnel=(),
        causes=(),
        timeline=fill_timeline("minute", 60, {}),
        hours=(),
    )
    assert "callback" not in data.as_json()
    assert callback_sections(data.callback) == []
