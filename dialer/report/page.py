"""Assemble the report page: one self-contained HTML file (inline CSS and SVG, no scripts,
nothing fetched), with the report's numbers embedded as JSON for analysts and tests."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from html import escape
from typing import Any

from dialer.report.charts import (
    CAUSE_FILL,
    FUNNEL_FILL,
    HOURS_FILL,
    TIMELINE_FILL,
    Bar,
    bar_chart,
    column_chart,
)
from dialer.report.data import CallbackSummary, ReportData, Timeline, funnel_shape

DATA_ELEMENT_ID = "report-data"
"""The id of the ``<script type="application/json">`` element holding ``ReportData.as_json()``."""

NO_ATTEMPTS = "no attempts yet"

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
  background: #fff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 32px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: #555; margin: 0; }
.meta b { color: #222; }
.hint { color: #666; font-size: 13px; margin: 2px 0 10px; }
.empty { color: #777; font-style: italic; padding: 18px 0; margin: 0; }
.tables { display: flex; flex-wrap: wrap; gap: 28px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { color: #555; font-weight: 600; }
dl { font-size: 14px; margin: 8px 0; }
dt { font-weight: 600; margin-top: 6px; }
dd { margin: 0 0 0 16px; color: #444; }
svg { display: block; max-width: 100%; height: auto; }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'"
"""The page may load nothing at all: a stray external reference would simply not load."""


def render_page(data: ReportData) -> str:
    """The whole HTML document for ``data``. Every user-supplied text is escaped."""
    title = f"Campaign report: {data.campaign}"
    state = data.state + (f" ({data.state_reason})" if data.state_reason else "")
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    shape = funnel_shape(data.channel)
    reached = shape.reached
    body = [
        f"<h1>{escape(data.campaign)}</h1>",
        '<p class="meta">'
        f"channel <b>{escape(data.channel)}</b> · state <b>{escape(state)}</b> · "
        f"generated <b>{escape(generated)}</b></p>",
        "<h2>Funnel</h2>",
        f'<p class="hint">{escape(shape.unit.capitalize())} at each step; percentages are of '
        f"those {escape(shape.steps[0][1])}.</p>",
        funnel_chart(data),
        *callback_sections(data.callback),
        "<h2>Outcomes by cause</h2>",
        '<p class="hint">Final attempts (those with an outcome) by hangup cause (Q.850).</p>',
        cause_chart(data),
        "<h2>Attempts over time</h2>",
        '<p class="hint">Attempts by dialling time (UTC)'
        + (f", per {escape(data.timeline.bucket)}" if data.timeline.points else "")
        + ".</p>",
        timeline_chart(data.timeline),
        f"<h2>{escape(reached.capitalize())} rate by local hour</h2>",
        '<p class="hint">Finished attempts by the hour they were dialled in the contact\'s own '
        f"time zone: share {escape(reached)}.</p>",
        hours_chart(data),
        "<h2>Counts</h2>",
        '<p class="hint">From <code>dialer status</code>. Loads are the totals of the '
        "<code>dialer load</code> runs: their <i>loaded</i> leaves suppressed numbers out, "
        "the funnel's includes them.</p>",
        counts_tables(data.status),
        "<h2>Definitions</h2>",
        definitions(data.channel),
    ]
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        "<body><main>\n" + "\n".join(body) + "\n</main>\n"
        f'<script type="application/json" id="{DATA_ELEMENT_ID}">'
        f"{embed_json(data.as_json())}</script>\n"
        "</body></html>\n"
    )


def embed_json(payload: Mapping[str, Any]) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no text
    (``</script>``, ``<!--``) can end the element early; ``json.loads`` reads it unchanged."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def funnel_chart(data: ReportData) -> str:
    shape = funnel_shape(data.channel)
    loaded = data.funnel[0].count if data.funnel else 0
    bars = [
        Bar(
            step.label,
            step.count,
            f"{step.count:,}" + (f" · {100 * step.count / loaded:.1f}%" if loaded else ""),
        )
        for step in data.funnel
        if loaded
    ]
    empty = f"no {shape.unit} {shape.steps[0][1]} yet"
    return bar_chart(bars, FUNNEL_FILL, title="Funnel", empty=empty)


def callback_sections(summary: CallbackSummary | None) -> list[str]:
    """An agent-callback campaign's talk time, cost and agents (nothing for other channels)."""
    if summary is None:
        return []
    cost = f"{money(summary.cost)} RUB"
    totals = (
        f"talk time <b>{duration(summary.talk_seconds)}</b> "
        f"({summary.talk_seconds:,} s) · cost <b>{escape(cost)}</b> "
        f"(MTT's call_back_cost of {summary.costed:,} callbacks)"
    )
    if summary.unreadable_costs:
        totals += f" · {summary.unreadable_costs:,} cost(s) not a number, left out"
    rows = "".join(
        f'<tr><td>{escape(row.agent)}</td><td class="n">{row.taken:,}</td>'
        f'<td class="n">{row.talked:,}</td><td class="n">{row.talk_seconds:,}</td></tr>'
        for row in summary.agents
    )
    if not rows:
        rows = '<tr><td colspan="4" class="empty">none</td></tr>'
    return [
        "<h2>Agents</h2>",
        '<p class="hint">Talk time and cost of every callback; then, per agent, the callbacks '
        "the agent answered, those where the agent and the contact talked, and the seconds "
        "they talked.</p>",
        f'<p class="meta">{totals}</p>',
        "<table><tr><th>agent</th><th>callbacks taken</th><th>talked</th>"
        f"<th>talk seconds</th></tr>{rows}</table>",
    ]


def money(amount: Decimal) -> str:
    """Roubles with thousands separators and at least kopecks, never rounded: ``1,234.50``,
    ``0.0125``."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:,f}"


def duration(seconds: int) -> str:
    """``H:MM:SS``."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def cause_chart(data: ReportData) -> str:
    bars = [
        Bar(
            f"{row.cause} · {row.text}" if row.cause is not None else row.text,
            row.count,
            tooltip=", ".join(f"{outcome}: {n:,}" for outcome, n in row.outcomes.items()),
        )
        for row in data.causes
    ]
    chart = bar_chart(bars, CAUSE_FILL, title="Outcomes by cause", empty=NO_ATTEMPTS)
    if not data.causes:
        return chart
    rows = "".join(
        f"<tr><td>{'' if r.cause is None else r.cause}</td><td>{escape(r.text)}</td>"
        f'<td class="n">{r.count:,}</td><td>'
        + escape(", ".join(f"{o} {n:,}" for o, n in r.outcomes.items()))
        + "</td></tr>"
        for r in data.causes
    )
    return (
        chart + "<table><tr><th>cause</th><th>text</th><th>attempts</th><th>outcomes</th></tr>"
        f"{rows}</table>"
    )


_TIME_LABELS = {"minute": "%H:%M", "10 minutes": "%H:%M", "hour": "%d %b %H:00", "day": "%d %b"}


def timeline_chart(timeline: Timeline) -> str:
    fmt = _TIME_LABELS.get(timeline.bucket, "%d %b %H:%M")
    bars = [
        Bar(
            p.start.strftime(fmt),
            p.count,
            f"{p.count:,}",
            f"{p.start:%Y-%m-%d %H:%M} UTC: {p.count:,} attempts",
        )
        for p in timeline.points
    ]
    return column_chart(
        bars,
        TIMELINE_FILL,
        title="Attempts over time",
        empty=NO_ATTEMPTS,
        label_every=math.ceil(len(bars) / 10) if bars else 1,
    )


def hours_chart(data: ReportData) -> str:
    reached = funnel_shape(data.channel).reached
    bars = []
    for h in data.hours:
        rate = h.rate
        bars.append(
            Bar(
                f"{h.hour:02d}",
                0.0 if rate is None else 100 * rate,
                "" if rate is None else f"{100 * rate:.0f}%",
                f"{h.hour:02d}:00–{h.hour:02d}:59 local: {h.answered:,} of {h.attempts:,}",
            )
        )
    if not any(h.attempts for h in data.hours):
        bars = []
    return column_chart(
        bars,
        HOURS_FILL,
        title=f"{reached.capitalize()} rate by local hour",
        empty=NO_ATTEMPTS,
        y_max=100,
        y_unit="%",
    )


def counts_tables(status: Mapping[str, Any]) -> str:
    """Contacts by status, outcomes, DTMF choices and load totals from ``campaign_status``."""
    dtmf = [
        (f"{digit} · {v['label'] or 'not in the menu'}", v["count"])
        for digit, v in status["dtmf"].items()
    ]
    tables = [
        _table("Contacts by status", status["counts"].items(), total=status["contacts"]),
        _table("Contact outcomes", status["outcomes"].items()),
        _table("DTMF choices", dtmf),
        _table("Loads", status["loads"].items()),
        _table(
            "Totals",
            [
                ("contacts", status["contacts"]),
                ("final contacts", status["final"]),
                ("attempts", status["attempts"]),
            ],
        ),
    ]
    return '<div class="tables">' + "".join(tables) + "</div>"


def _table(title: str, rows: Any, total: int | None = None) -> str:
    lines = "".join(
        f'<tr><td>{escape(str(name))}</td><td class="n">{int(n):,}</td></tr>' for name, n in rows
    )
    if not lines:
        lines = '<tr><td colspan="2" class="empty">none</td></tr>'
    if total is not None:
        lines += f'<tr><th>total</th><td class="n"><b>{int(total):,}</b></td></tr>'
    return f"<div><h3>{escape(title)}</h3><table>{lines}</table></div>"


_CALLBACK_DEFINITIONS = (
    "<dl>"
    "<dt>dialled</dt><dd>Callback attempts sent to MTT (export column <code>status</code> "
    "neither <code>queued</code> nor <code>cancelled</code>). A contact may take several: "
    "when no agent answers, the callback is tried again.</dd>"
    "<dt>agent answered</dt><dd>Attempts an agent picked up (export column "
    "<code>agent</code> set, from MTT's <code>pickup_side_A</code>); only then is the contact "
    "rung.</dd>"
    "<dt>contact answered</dt><dd>Attempts where the contact answered and was bridged to the "
    "agent (<code>answered_at</code> set, MTT's <code>start_talk</code>).</dd>"
    "<dt>talked</dt><dd>Attempts whose outcome is <code>connected</code>: the outcome the "
    "dialer acted on (the contact became <code>reached</code>).</dd>"
    "<dt>talk time, cost</dt><dd>Sums of the export columns <code>talk_seconds</code> and "
    "<code>cost</code> (MTT's <code>call_back_cost</code> in roubles, summed exactly).</dd>"
    "<dt>agents</dt><dd>The campaign file's agents in its order, those who took no callback "
    "included, then any other number the attempts name. <i>Callbacks taken</i> is the "
    "<i>agent answered</i> step of one agent.</dd>"
    "<dt>talked rate by local hour</dt><dd>Of the attempts that have an outcome, the share "
    "talked, by the hour of <code>dialing_at</code> in the contact's time zone; attempts "
    "still in flight are left out.</dd>"
    "</dl>"
)


def definitions(channel: str) -> str:
    if channel == "callback":
        return _CALLBACK_DEFINITIONS
    reached = funnel_shape(channel).reached
    return (
        "<dl>"
        "<dt>loaded</dt><dd>Every contact of the campaign, suppressed (do-not-call) ones "
        "included: the rows of <code>dialer export</code>.</dd>"
        "<dt>dialled</dt><dd>Contacts with at least one attempt (export column "
        "<code>attempts</code> &gt; 0).</dd>"
        f"<dt>{reached}</dt><dd>Contacts with at least one attempt whose outcome is "
        "<code>answered</code> (the call ended with Q.850 cause 16 after the subscriber "
        "listened) or, for SMS, <code>delivered</code>: the outcome the dialer acted on, not "
        "the <code>answered_at</code> timestamp.</dd>"
        "<dt>pressed N</dt><dd>Contacts by their recorded menu choice (export column "
        "<code>dtmf</code>).</dd>"
        f"<dt>{reached} rate by local hour</dt><dd>Of the attempts that have an outcome, the "
        f"share {reached}, by the hour of <code>dialing_at</code> in the contact's time zone; "
        "attempts still in flight are left out.</dd>"
        "</dl>"
    )
