"""The campaign report: its numbers (on SQLite and PostgreSQL) agree with the export, its
charts are drawn from them, user text is escaped and the page references nothing outside."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.dnc import add_to_dnc
from dialer.errors import NotFoundError, UserError
from dialer.export.run import export_campaign
from dialer.export.status import campaign_status
from dialer.loader.load import load_contacts
from dialer.report import write_report
from dialer.report.charts import CHART_FILLS, Bar, bar_chart, column_chart, tick_step
from dialer.report.data import (
    ANSWERED_OUTCOMES,
    HourRate,
    ReportData,
    choose_bucket,
    collect_report,
    fill_timeline,
    funnel_steps,
    local_hours,
)
from dialer.report.page import DATA_ELEMENT_ID, embed_json, hours_chart, render_page
from tests.support.cli import assert_one_line_error, dialer, last_json
from tests.support.factories import make_campaign, make_config, write_csv

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
EVIL = "<script>alert('x')</script>"
MENU = (
    "[[menu]]\ndigit = 1\naction = 'notify'\nlabel = 'pickup'\n"
    f"[[menu]]\ndigit = 2\naction = 'notify'\nlabel = \"{EVIL}\"\n"
    "[[menu]]\ndigit = 9\naction = 'optout'\nlabel = 'stop'\n"
)
CONTACTS = (
    "name,phone,timezone\n"
    "moscow,79161230001,Europe/Moscow\n"
    "vladivostok,79161230002,Asia/Vladivostok\n"
    "kolkata,79161230003,Asia/Kolkata\n"
    "in-flight,79161230004,Europe/Moscow\n"
    "waiting,79161230005,Europe/Moscow\n"
    "on-dnc,79161230006,Europe/Moscow\n"
)


def _attempt(phone: str, minutes: int, **values: object) -> dict[str, object]:
    return {"phone": phone, "dialing_at": T0 + timedelta(minutes=minutes), **values}


ATTEMPTS = (
    # 09:00 UTC = 12:00 Moscow: busy.
    _attempt("79161230001", 0, status="completed", outcome="busy", cause=17),
    # 09:05 UTC = 19:05 Vladivostok: no answer.
    _attempt("79161230002", 5, status="completed", outcome="no_answer", cause=19),
    # 09:30 UTC = 12:30 Moscow: answered, pressed 1.
    _attempt("79161230001", 30, status="completed", outcome="answered", cause=16, duration=20),
    # 09:35 UTC = 15:05 Kolkata (+05:30; the UTC hour 09:00 would be 14:30 there): pressed 2.
    _attempt("79161230003", 35, status="completed", outcome="answered", cause=16, duration=30),
    # 09:45 UTC: still with the provider, no outcome yet.
    _attempt("79161230004", 45, status="submitted"),
    # 09:50 UTC = 19:50 Vladivostok: a duration (so answered_at) but cause 31: unreachable,
    # which the dialer does not count as answered.
    _attempt("79161230002", 50, status="completed", outcome="unreachable", cause=31, duration=5),
)
CONTACT_STATE = {
    "79161230001": {"status": "reached", "outcome": "answered", "dtmf": "1", "attempts": 2},
    "79161230002": {"status": "retry_wait", "outcome": "unreachable", "attempts": 2},
    "79161230003": {"status": "reached", "outcome": "answered", "dtmf": "2", "attempts": 1},
    "79161230004": {"status": "in_progress", "attempts": 1},
}


def load_evening_run(engine: Engine, tmp_path: Path) -> None:
    """An IVR campaign of six contacts (one suppressed), six attempts at fixed times."""
    make_campaign(engine, make_config(name="evening-run", channel="ivr", menu=MENU))
    with session_scope(engine) as session:
        add_to_dnc(session, ["79161230006"], source="cli")
    load_contacts(engine, "evening-run", write_csv(tmp_path / "c.csv", CONTACTS))
    with session_scope(engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact)).all()}
        for spec in ATTEMPTS:
            values = dict(spec)
            phone = str(values.pop("phone"))
            dialing_at = values["dialing_at"]
            assert isinstance(dialing_at, datetime)
            duration = values.get("duration")
            contact = contacts[phone]
            session.add(
                Attempt(
                    campaign_id=contact.campaign_id,
                    contact_id=contact.id or 0,
                    channel="ivr",
                    number=phone,
                    created_at=dialing_at,
                    updated_at=dialing_at,
                    answered_at=dialing_at + timedelta(seconds=5) if duration else None,
                    **values,  # type: ignore[arg-type]
                )
            )
        for phone, state in CONTACT_STATE.items():
            session.execute(
                update(Contact).where(col(Contact.phone) == phone).values(**state)  # type: ignore[arg-type]
            )


@pytest.fixture
def campaign(engine: Engine, tmp_path: Path) -> Engine:
    load_evening_run(engine, tmp_path)
    return engine


def _report_of(engine: Engine) -> tuple[str, dict[str, object]]:
    with session_scope(engine) as session:
        campaign = get_campaign(session, "evening-run")
    html = render_page(collect_report(engine, campaign, NOW))
    return html, _embedded(html)


def _embedded(html: str) -> dict[str, object]:
    match = re.search(
        rf'<script type="application/json" id="{DATA_ELEMENT_ID}">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_report_numbers(campaign: Engine) -> None:
    _, data = _report_of(campaign)
    assert data["campaign"] == "evening-run"
    assert data["channel"] == "ivr"
    assert data["generated_at"] == "2026-11-02T12:00:00+00:00"
    funnel = {step["key"]: (step["label"], step["count"]) for step in data["funnel"]}  # type: ignore[attr-defined]
    assert funnel == {
        "loaded": ("loaded", 6),  # the suppressed contact included
        "dialled": ("dialled", 4),
        "answered": ("answered", 2),  # the cause-31 call with a duration is not answered
        "dtmf:1": ("pressed 1: pickup", 1),
        "dtmf:2": (f"pressed 2: {EVIL}", 1),
        "dtmf:9": ("pressed 9: stop", 0),
    }
    assert [(c["cause"], c["text"], c["count"], c["outcomes"]) for c in data["causes"]] == [  # type: ignore[attr-defined]
        (16, "normal clearing", 2, {"answered": 2}),
        (17, "user busy", 1, {"busy": 1}),
        (19, "no answer", 1, {"no_answer": 1}),
        (31, "normal, unspecified", 1, {"unreachable": 1}),
    ]
    timeline = data["timeline"]
    assert isinstance(timeline, dict)
    assert (timeline["bucket"], timeline["seconds"]) == ("minute", 60)
    points = timeline["points"]
    assert len(points) == 51  # 09:00 to 09:50, empty minutes included
    assert points[0] == {"start": "2026-11-02T09:00:00+00:00", "count": 1}
    assert [i for i, p in enumerate(points) if p["count"]] == [0, 5, 30, 35, 45, 50]
    hours = {h["hour"]: (h["attempts"], h["answered"]) for h in data["hours"] if h["attempts"]}  # type: ignore[attr-defined]
    assert hours == {12: (2, 1), 15: (1, 1), 19: (2, 0)}


def test_report_counts_are_the_status_and_agree_with_the_export(
    campaign: Engine, tmp_path: Path
) -> None:
    _, data = _report_of(campaign)
    with session_scope(campaign) as session:
        status = campaign_status(campaign, get_campaign(session, "evening-run"), NOW).model_dump(
            mode="json"
        )
    assert data["status"] == {
        key: status[key]
        for key in ("contacts", "final", "counts", "outcomes", "dtmf", "attempts", "loads")
    }
    export_campaign(campaign, "evening-run", tmp_path / "c.csv", fmt="csv", level="contacts")
    export_campaign(campaign, "evening-run", tmp_path / "a.csv", fmt="csv", level="attempts")
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as handle:
        contacts = list(csv.DictReader(handle))
    with (tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as handle:
        attempts = list(csv.DictReader(handle))
    funnel = {step["key"]: step["count"] for step in data["funnel"]}  # type: ignore[attr-defined]
    assert funnel["loaded"] == len(contacts)
    assert funnel["dialled"] == sum(int(c["attempts"]) > 0 for c in contacts)
    assert funnel["answered"] == len(
        {a["phone"] for a in attempts if a["outcome"] in ANSWERED_OUTCOMES}
    )
    for digit in ("1", "2", "9"):
        assert funnel[f"dtmf:{digit}"] == sum(c["dtmf"] == digit for c in contacts)
    final = [a for a in attempts if a["outcome"]]
    assert {c["cause"]: c["count"] for c in data["causes"]} == {  # type: ignore[attr-defined]
        int(cause): sum(a["cause"] == cause for a in final) for cause in {a["cause"] for a in final}
    }
    assert sum(p["count"] for p in data["timeline"]["points"]) == len(attempts)  # type: ignore[index]


def test_page_escapes_user_text_and_references_nothing_outside(campaign: Engine) -> None:
    html, data = _report_of(campaign)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert EVIL not in html
    assert html.count("<script") == 1  # only the JSON data element
    assert "<" not in html.split(f'id="{DATA_ELEMENT_ID}">', 1)[1].split("</script>")[0]
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert "@import" not in html
    assert "url(" not in html
    assert data["funnel"][4]["label"] == f"pressed 2: {EVIL}"  # type: ignore[index]


def test_every_chart_draws_its_bars(campaign: Engine) -> None:
    html, _ = _report_of(campaign)
    for fill in CHART_FILLS:
        assert f'fill="{fill}"' in html
    assert html.count("<svg") == 4
    assert "no attempts yet" not in html
    assert "Answered rate by local hour" in html


def test_empty_campaign_says_so_instead_of_drawing(engine: Engine, tmp_path: Path) -> None:
    make_campaign(engine, make_config(name="empty"))
    result = write_report(engine, "empty", tmp_path / "r.html", now=NOW)
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert result.bytes == len(html.encode("utf-8"))
    assert "<svg" not in html
    assert html.count("no attempts yet") == 3
    assert "no contacts loaded yet" in html
    for fill in CHART_FILLS:
        assert fill not in html
    data = _embedded(html)
    assert [s["count"] for s in data["funnel"]] == [0, 0, 0]  # type: ignore[attr-defined]
    assert data["timeline"]["points"] == []  # type: ignore[index]


def test_report_of_an_unknown_campaign_or_to_a_missing_directory(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="unknown campaign 'nope'"):
        write_report(sqlite_engine, "nope", tmp_path / "r.html")
    make_campaign(sqlite_engine, make_config(name="there"))
    with pytest.raises(UserError, match="does not exist"):
        write_report(sqlite_engine, "there", tmp_path / "no" / "r.html")
    with pytest.raises(UserError, match="is a directory"):
        write_report(sqlite_engine, "there", tmp_path)
    assert not (tmp_path / "no").exists()


def test_cli_writes_the_report_and_fails_in_one_line(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        'name = "cli"\nchannel = "sms"\n[message]\ntext = "Hi"\ncaller_id = "74950000000"\n'
    )
    assert dialer(tmp_path, "campaign", "create", str(toml)).returncode == 0
    ok = dialer(tmp_path, "report", "cli", "-o", "r.html", "--json")
    assert ok.returncode == 0, ok.stderr
    assert last_json(ok.stdout) == {
        "campaign": "cli",
        "output": "r.html",
        "bytes": (tmp_path / "r.html").stat().st_size,
    }
    assert "delivered" in (tmp_path / "r.html").read_text(encoding="utf-8")
    for args, needle in (
        (("report", "nope", "-o", "r.html"), "unknown campaign 'nope'"),
        (("report", "cli", "-o", "missing/r.html"), "does not exist"),
    ):
        failed = dialer(tmp_path, *args)
        assert failed.returncode == 1
        assert_one_line_error(failed, "dialer: error: ", needle)


@pytest.mark.parametrize(
    ("span", "bucket"),
    [
        (timedelta(0), ("minute", 60)),
        (timedelta(minutes=143), ("minute", 60)),
        (timedelta(minutes=144), ("10 minutes", 600)),
        (timedelta(hours=23, minutes=59), ("10 minutes", 600)),
        (timedelta(hours=24), ("hour", 3600)),
        (timedelta(days=5, hours=23), ("hour", 3600)),
        (timedelta(days=6), ("day", 86400)),
        (timedelta(days=400), ("day", 86400)),
    ],
)
def test_bucket_follows_the_span(span: timedelta, bucket: tuple[str, int]) -> None:
    assert choose_bucket(span) == bucket


def test_timeline_fills_gaps_between_the_first_and_last_bucket() -> None:
    hour = int(T0.timestamp()) // 3600
    timeline = fill_timeline("hour", 3600, {hour: 4, hour + 3: 1})
    assert [(p.start.hour, p.count) for p in timeline.points] == [(9, 4), (10, 0), (11, 0), (12, 1)]
    assert fill_timeline("hour", 3600, {}).points == ()


@pytest.mark.parametrize(
    ("zone", "utc", "hour"),
    [
        ("Europe/Moscow", "09:59", 12),
        ("Asia/Kolkata", "09:15", 14),  # 14:45
        ("Asia/Kolkata", "09:30", 15),  # 15:00
        ("Asia/Kathmandu", "09:15", 15),  # +05:45: 15:00
        ("America/New_York", "09:00", 4),  # November: EST, -05:00
        ("Not/AZone", "09:00", 9),  # counted as UTC
    ],
)
def test_local_hour_of_a_quarter_hour(zone: str, utc: str, hour: int) -> None:
    h, m = map(int, utc.split(":"))
    quarter = int(T0.replace(hour=h, minute=m).timestamp()) // 900
    hours = local_hours([(zone, quarter, 3, 2)])
    assert [(r.hour, r.attempts, r.answered) for r in hours if r.attempts] == [(hour, 3, 2)]
    assert hours[hour].rate == pytest.approx(2 / 3)
    assert HourRate(0, 0, 0).rate is None


def test_funnel_lists_every_menu_digit_then_unknown_ones() -> None:
    steps = funnel_steps(
        channel="ivr",
        loaded=10,
        dialled=8,
        answered=5,
        dtmf={"7": 1, "1": 3},
        menu=[("1", "pickup"), ("3", "operator")],
    )
    assert [(s.key, s.label, s.count) for s in steps] == [
        ("loaded", "loaded", 10),
        ("dialled", "dialled", 8),
        ("answered", "answered", 5),
        ("dtmf:1", "pressed 1: pickup", 3),
        ("dtmf:3", "pressed 3: operator", 0),
        ("dtmf:7", "pressed 7: not in the menu", 1),
    ]
    sms = funnel_steps(channel="sms", loaded=1, dialled=1, answered=0, dtmf={}, menu=[])
    assert [s.label for s in sms] == ["loaded", "sent", "delivered"]


def test_embedded_json_cannot_close_its_script_element() -> None:
    payload = {"label": "</script><script>alert(1)</script><!-- & -->"}
    text = embed_json(payload)
    assert "<" not in text
    assert ">" not in text
    assert json.loads(text) == payload


def test_charts_without_bars_are_a_sentence() -> None:
    for chart in (
        bar_chart([], "#123456", title="t", empty="nothing <here>"),
        column_chart([], "#123456", title="t", empty="nothing <here>"),
    ):
        assert chart == '<p class="empty">nothing &lt;here&gt;</p>'


def test_zero_bars_are_drawn_as_an_empty_axis() -> None:
    zeros = [Bar("a", 0), Bar("b", 0)]
    bars = bar_chart(zeros, "#123456", title="t", empty="-")
    assert re.findall(r'width="([\d.]+)" height="20" fill="#123456"', bars) == ["0.0", "0.0"]
    columns = column_chart(zeros, "#123456", title="t", empty="-")
    assert columns.startswith("<svg")
    assert 'fill="#123456"' not in columns
    assert re.findall(r'text-anchor="end" fill="#666">([^<]*)</text>', columns) == ["0", "1"]


def test_bars_are_scaled_to_the_largest_value() -> None:
    chart = bar_chart([Bar("a", 10), Bar("b <i>", 5)], "#123456", title="t", empty="-")
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="20" fill="#123456"', chart)]
    assert widths == [500.0, 250.0]
    assert "b &lt;i&gt;" in chart
    columns = column_chart(
        [Bar("x", 50), Bar("y", 100)], "#123456", title="t", empty="-", y_max=100
    )
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill="#123456"', columns)]
    assert heights == [110.0, 220.0]


@pytest.mark.parametrize(
    ("top", "step"),
    [(0.5, 1), (1, 1), (4, 1), (6, 2), (9, 5), (40, 10), (100, 25), (1234, 500), (99_999, 25_000)],
)
def test_y_ticks_are_round_whole_steps(top: float, step: float) -> None:
    assert tick_step(top) == step
    assert top / step <= 4 or step == 1


def test_column_chart_of_ones_has_whole_ticks_only() -> None:
    chart = column_chart([Bar("a", 1), Bar("b", 0)], "#123456", title="t", empty="-")
    ticks = re.findall(r'text-anchor="end" fill="#666">([^<]*)</text>', chart)
    assert ticks == ["0", "1"]


def test_hours_without_a_single_answer_still_draw_their_axis() -> None:
    hours = tuple(HourRate(h, 4 if h == 10 else 0, 0) for h in range(24))
    data = ReportData(
        campaign="busy-day",
        channel="tts",
        state="running",
        state_reason=None,
        generated_at=NOW,
        status={},
        funnel=(),
        causes=(),
        timeline=fill_timeline("minute", 60, {}),
        hours=hours,
    )
    chart = hours_chart(data)
    assert chart.startswith("<svg")
    assert ">0%</text>" in chart
    assert "10:00–10:59 local: 0 of 4" in chart
