"""The numbers of a campaign report: a few GROUP BY queries, then pure shaping into plain data.

Definitions (the page states them too):

- **loaded**: every contact row of the campaign, suppressed (DNC) ones included: the export's
  contacts-level row count and ``dialer status``'s ``contacts``.
- **dialled**: contacts with at least one attempt (the export's ``attempts`` column > 0).
- **answered**: contacts with at least one attempt whose outcome is ``answered`` (a call the
  subscriber listened to: Q.850 cause 16 with a duration, see ``dialer.policy.classify``) or,
  for SMS, ``delivered``. The outcome is what the dialer acted on (the contact became
  ``reached``); ``answered_at`` is only a timestamp derived from the call's duration.
- **DTMF**: contacts by their recorded menu choice (the export's ``dtmf`` column).

An agent-callback campaign counts attempts instead (a contact may need several callbacks
before an agent is free): **dialled** (sent to MTT: neither ``queued`` nor ``cancelled``) →
**agent answered** (``agent`` set) → **contact answered** (``answered_at`` set: the two were
bridged) → **talked** (outcome ``connected``); then talk time, cost and one row per agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BigInteger, Integer, case, cast, distinct, func, literal_column
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.db.engine import is_sqlite
from dialer.db.models import Attempt, Campaign, Contact
from dialer.db.types import utcnow
from dialer.export.cells import decimal_value
from dialer.export.status import campaign_status
from dialer.providers.causes import cause_text
from dialer.states import AttemptStatus, Outcome

ANSWERED_OUTCOMES = (Outcome.ANSWERED.value, Outcome.DELIVERED.value, Outcome.CONNECTED.value)
"""Attempt outcomes that reached the contact: answered (calls), delivered (SMS), connected
(agent callback: the agent and the contact talked). Each channel has only its own."""

STATUS_KEYS = ("contacts", "final", "counts", "outcomes", "dtmf", "attempts", "loads")
"""The keys of ``campaign_status`` the report shows (its other keys may change)."""

BUCKETS: tuple[tuple[str, int], ...] = (
    ("minute", 60),
    ("10 minutes", 600),
    ("hour", 3600),
    ("day", 86400),
)
"""Attempts-over-time bucket sizes in seconds, smallest first."""

MAX_BUCKETS = 144
"""The smallest bucket that keeps the timeline within this many bars wins (days: no limit)."""

QUARTER_HOUR = 900
"""Seconds. The local-hour chart groups by UTC quarter hour: every zone's offset is a whole
number of quarter hours (+05:30, +05:45), so each group falls in exactly one local hour."""


@dataclass(frozen=True)
class FunnelStep:
    key: str
    """``loaded``, ``dialled``, ``answered`` or ``dtmf:<digit>``; for an agent callback
    ``sent``, ``agent_answered``, ``contact_answered``, ``talked``."""
    label: str
    count: int


@dataclass(frozen=True)
class FunnelShape:
    """What a channel's funnel counts and calls its steps."""

    unit: str
    """What each step counts; percentages are of the first step."""
    steps: tuple[tuple[str, str], ...]
    """``(key, label)`` of each step, first to last (an IVR menu's digits follow)."""
    reached: str
    """The contact reached, in one word: the rate by local hour is the share of this."""


CALL_FUNNEL = FunnelShape(
    "contacts", (("loaded", "loaded"), ("dialled", "dialled"), ("answered", "answered")), "answered"
)
FUNNELS = {
    "sms": FunnelShape(
        "contacts",
        (("loaded", "loaded"), ("dialled", "sent"), ("answered", "delivered")),
        "delivered",
    ),
    "callback": FunnelShape(
        "callback attempts",
        (
            ("sent", "dialled"),
            ("agent_answered", "agent answered"),
            ("contact_answered", "contact answered"),
            ("talked", "talked"),
        ),
        "talked",
    ),
}
"""Funnels by channel; any other channel (``tts``, ``ivr``) has ``CALL_FUNNEL``."""


def funnel_shape(channel: str) -> FunnelShape:
    return FUNNELS.get(channel, CALL_FUNNEL)


@dataclass(frozen=True)
class AgentRow:
    """One agent of a callback campaign."""

    agent: str
    """The agent's number, as the attempts recorded it."""
    taken: int
    """Callbacks the agent answered."""
    talked: int
    """Of those, the ones where the agent and the contact talked (outcome ``connected``)."""
    talk_seconds: int


@dataclass(frozen=True)
class CallbackSummary:
    """An agent-callback campaign's totals and agents."""

    talk_seconds: int
    """Seconds agents and contacts talked, all attempts."""
    cost: Decimal
    """MTT's ``call_back_cost`` summed exactly (roubles)."""
    costed: int
    """Attempts with a cost."""
    unreadable_costs: int
    """Attempts whose stored cost is not a number, left out of ``cost`` (never expected)."""
    agents: tuple[AgentRow, ...]
    """The campaign file's agents in its order (those who took nothing too), then any other
    agent the attempts name."""


@dataclass(frozen=True)
class CauseRow:
    """Final attempts with one hangup cause (``None``: none reported, e.g. SMS, refusals)."""

    cause: int | None
    text: str
    count: int
    outcomes: dict[str, int]
    """The same attempts by outcome class."""


@dataclass(frozen=True)
class TimeBucket:
    start: datetime
    """UTC start of the bucket."""
    count: int


@dataclass(frozen=True)
class Timeline:
    bucket: str
    """``minute``, ``10 minutes``, ``hour`` or ``day``."""
    seconds: int
    points: tuple[TimeBucket, ...]
    """Every bucket from the first attempt's to the last one's, empty ones included."""


@dataclass(frozen=True)
class HourRate:
    hour: int
    """Hour of day (0-23) in the contact's own time zone."""
    attempts: int
    """Finished attempts dialled in that local hour."""
    answered: int

    @property
    def rate(self) -> float | None:
        """Answered / attempts (0.0-1.0), ``None`` when nothing was dialled in that hour."""
        return self.answered / self.attempts if self.attempts else None


@dataclass(frozen=True)
class ReportData:
    campaign: str
    channel: str
    state: str
    state_reason: str | None
    generated_at: datetime
    status: dict[str, Any]
    """``campaign_status`` restricted to ``STATUS_KEYS``."""
    funnel: tuple[FunnelStep, ...]
    causes: tuple[CauseRow, ...]
    timeline: Timeline
    hours: tuple[HourRate, ...]
    callback: CallbackSummary | None = None
    """Agent-callback campaigns only."""

    def as_json(self) -> dict[str, Any]:
        """Plain JSON-ready data (times as ISO 8601 UTC strings, the callback cost as decimal
        text; no ``callback`` key for other channels)."""
        data = asdict(self)
        if self.callback is None:
            del data["callback"]
        else:
            data["callback"]["cost"] = str(self.callback.cost)
        data["generated_at"] = self.generated_at.isoformat()
        data["timeline"]["points"] = [
            {"start": p.start.isoformat(), "count": p.count} for p in self.timeline.points
        ]
        data["hours"] = [{**asdict(h), "rate": h.rate} for h in self.hours]
        return data


def collect_report(engine: Engine, campaign: Campaign, now: datetime | None = None) -> ReportData:
    """Query every number of the report for ``campaign`` (aggregates only, no row scans in
    Python). ``now`` is the generated-at time (default: the current UTC time)."""
    now = now or utcnow()
    status = campaign_status(engine, campaign, now)
    config = config_of(campaign)
    with Session(engine) as session:
        dialled = session.exec(
            select(func.count())
            .select_from(Contact)
            .where(Contact.campaign_id == campaign.id, col(Contact.attempts) > 0)
        ).one()
        answered = session.exec(
            select(func.count(distinct(col(Attempt.contact_id)))).where(
                Attempt.campaign_id == campaign.id, col(Attempt.outcome).in_(ANSWERED_OUTCOMES)
            )
        ).one()
        cause_rows = session.exec(
            select(Attempt.cause, Attempt.outcome, func.count())
            .where(Attempt.campaign_id == campaign.id, col(Attempt.outcome).is_not(None))
            .group_by(col(Attempt.cause), col(Attempt.outcome))
        ).all()
        timeline = _timeline(session, engine, campaign)
        zone_rows = _zone_quarters(session, engine, campaign)
        counts = {"loaded": status.contacts, "dialled": int(dialled), "answered": int(answered)}
        callback = None
        if config.callback is not None:
            counts |= _callback_funnel(session, campaign)
            callback = _callback_summary(session, campaign, config.callback.agents)
    menu = [(str(item.digit), item.display_label) for item in config.menu]
    funnel = funnel_steps(
        channel=campaign.channel,
        dtmf={digit: item.count for digit, item in status.dtmf.items()},
        menu=menu,
        **counts,
    )
    return ReportData(
        campaign=campaign.name,
        channel=campaign.channel,
        state=campaign.state,
        state_reason=campaign.state_reason,
        generated_at=now,
        status={
            key: value
            for key, value in status.model_dump(mode="json").items()
            if key in STATUS_KEYS
        },
        funnel=funnel,
        causes=cause_table((c, str(o), int(n)) for c, o, n in cause_rows),
        timeline=timeline,
        hours=local_hours(zone_rows),
        callback=callback,
    )


def funnel_steps(
    *,
    channel: str,
    dtmf: Mapping[str, int],
    menu: Iterable[tuple[str, str]],
    **counts: int,
) -> tuple[FunnelStep, ...]:
    """The channel's steps (``funnel_shape``) with ``counts`` by step key (a missing one is
    zero): loaded → dialled → answered (SMS: sent, delivered; agent callback: dialled →
    agent answered → contact answered → talked), then one step per menu digit (zero when
    nobody pressed it), then any recorded digit the menu doesn't have."""
    steps = [
        FunnelStep(key, label, counts.get(key, 0)) for key, label in funnel_shape(channel).steps
    ]
    labels = dict(menu)
    for digit in [*labels, *sorted(d for d in dtmf if d not in labels)]:
        label = labels.get(digit, "not in the menu")
        steps.append(FunnelStep(f"dtmf:{digit}", f"pressed {digit}: {label}", dtmf.get(digit, 0)))
    return tuple(steps)


def cause_table(rows: Iterable[tuple[int | None, str, int]]) -> tuple[CauseRow, ...]:
    """Group ``(cause, outcome, count)`` rows by cause, most frequent first."""
    by_cause: dict[int | None, dict[str, int]] = {}
    for cause, outcome, count in rows:
        outcomes = by_cause.setdefault(cause, {})
        outcomes[outcome] = outcomes.get(outcome, 0) + count
    table = [
        CauseRow(
            cause,
            cause_text(cause) if cause is not None else "no cause reported",
            sum(outcomes.values()),
            dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
        for cause, outcomes in by_cause.items()
    ]
    return tuple(sorted(table, key=lambda r: (-r.count, r.cause is None, r.cause or 0)))


def agent_table(
    agents: Iterable[str], rows: Iterable[tuple[str, int, int, int]]
) -> tuple[AgentRow, ...]:
    """``agents`` (the campaign file's, in order, zeros for those who took nothing), then the
    other agents of ``(agent, taken, talked, talk seconds)`` rows, most callbacks first."""
    taken = {agent: AgentRow(agent, n, talked, seconds) for agent, n, talked, seconds in rows}
    listed = [taken.pop(agent, AgentRow(agent, 0, 0, 0)) for agent in dict.fromkeys(agents)]
    others = sorted(taken.values(), key=lambda row: (-row.taken, row.agent))
    return (*listed, *others)


def total_cost(rows: Iterable[tuple[str, int]]) -> tuple[Decimal, int, int]:
    """Sum ``(cost text, attempts)`` rows exactly: the total, the attempts summed and the
    attempts whose cost is not a number (left out)."""
    total, costed, unreadable = Decimal(0), 0, 0
    for text, count in rows:
        amount = decimal_value(text)
        if amount is None:
            unreadable += count
        else:
            total += amount * count
            costed += count
    return total, costed, unreadable


def choose_bucket(span: timedelta) -> tuple[str, int]:
    """The smallest bucket that shows ``span`` in at most ``MAX_BUCKETS`` bars."""
    for name, seconds in BUCKETS[:-1]:
        if span.total_seconds() // seconds + 1 <= MAX_BUCKETS:
            return name, seconds
    return BUCKETS[-1]


def fill_timeline(name: str, seconds: int, counts: Mapping[int, int]) -> Timeline:
    """A timeline from counts by bucket number (UTC epoch seconds // ``seconds``), with every
    bucket between the first and last present."""
    if not counts:
        return Timeline(name, seconds, ())
    points = tuple(
        TimeBucket(datetime.fromtimestamp(n * seconds, UTC), counts.get(n, 0))
        for n in range(min(counts), max(counts) + 1)
    )
    return Timeline(name, seconds, points)


def local_hours(rows: Iterable[tuple[str, int, int, int]]) -> tuple[HourRate, ...]:
    """24 hours of answer rate from ``(zone, UTC quarter-hour number, attempts, answered)``
    rows. An unknown zone name counts as UTC (the loader only stores valid ones)."""
    attempts = [0] * 24
    answered = [0] * 24
    for zone, quarter, n, ok in rows:
        hour = datetime.fromtimestamp(quarter * QUARTER_HOUR, _zone(zone)).hour
        attempts[hour] += n
        answered[hour] += ok
    return tuple(HourRate(h, attempts[h], answered[h]) for h in range(24))


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _epoch(engine: Engine, column: Any) -> ColumnElement[int]:
    """Whole UTC epoch seconds of a timestamp column, on SQLite and PostgreSQL."""
    if is_sqlite(engine):
        # Stored as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime would round the
        # microseconds up into the next second, so cut them off first.
        return cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _bucket(engine: Engine, seconds: int) -> ColumnElement[int]:
    # A literal, not a bound parameter: PostgreSQL only matches a GROUP BY expression to the
    # selected one when both are textually the same.
    return _epoch(engine, Attempt.dialing_at).op("/")(literal_column(str(int(seconds))))


def _timeline(session: Session, engine: Engine, campaign: Campaign) -> Timeline:
    first, last = session.exec(
        select(func.min(Attempt.dialing_at), func.max(Attempt.dialing_at)).where(
            Attempt.campaign_id == campaign.id, col(Attempt.dialing_at).is_not(None)
        )
    ).one()
    if first is None or last is None:
        return Timeline(BUCKETS[0][0], BUCKETS[0][1], ())
    name, seconds = choose_bucket(last - first)
    bucket = _bucket(engine, seconds)
    rows = session.exec(
        select(bucket, func.count())
        .where(Attempt.campaign_id == campaign.id, col(Attempt.dialing_at).is_not(None))
        .group_by(bucket)
    ).all()
    return fill_timeline(name, seconds, {int(b): int(n) for b, n in rows})


def _callback_funnel(session: Session, campaign: Campaign) -> dict[str, int]:
    """Callback attempts sent, answered by an agent, answered by the contact, talked."""
    sent = case(
        (col(Attempt.status).not_in([AttemptStatus.QUEUED, AttemptStatus.CANCELLED]), 1),
        else_=0,
    )
    talked = case((col(Attempt.outcome) == Outcome.CONNECTED, 1), else_=0)
    row = session.exec(
        select(
            func.sum(sent),
            func.count(col(Attempt.agent)),
            func.count(col(Attempt.answered_at)),
            func.sum(talked),
        ).where(Attempt.campaign_id == campaign.id)
    ).one()
    keys = ("sent", "agent_answered", "contact_answered", "talked")
    return {key: int(n or 0) for key, n in zip(keys, row, strict=True)}


def _callback_summary(
    session: Session, campaign: Campaign, agents: Iterable[str]
) -> CallbackSummary:
    talked = case((col(Attempt.outcome) == Outcome.CONNECTED, 1), else_=0)
    by_agent = session.exec(
        select(
            Attempt.agent,
            func.count(),
            func.sum(talked),
            func.sum(Attempt.talk_seconds),
        )
        .where(Attempt.campaign_id == campaign.id, col(Attempt.agent).is_not(None))
        .group_by(col(Attempt.agent))
    ).all()
    talk_seconds = session.exec(
        select(func.sum(Attempt.talk_seconds)).where(Attempt.campaign_id == campaign.id)
    ).one()
    # Few distinct amounts: summed here exactly, never as SQL floats.
    costs = session.exec(
        select(Attempt.cost, func.count())
        .where(Attempt.campaign_id == campaign.id, col(Attempt.cost).is_not(None))
        .group_by(col(Attempt.cost))
    ).all()
    cost, costed, unreadable = total_cost((str(c), int(n)) for c, n in costs)
    return CallbackSummary(
        talk_seconds=int(talk_seconds or 0),
        cost=cost,
        costed=costed,
        unreadable_costs=unreadable,
        agents=agent_table(
            agents, ((str(a), int(n), int(t or 0), int(s or 0)) for a, n, t, s in by_agent)
        ),
    )


def _zone_quarters(
    session: Session, engine: Engine, campaign: Campaign
) -> list[tuple[str, int, int, int]]:
    """Finished, dialled attempts by (contact zone, UTC quarter hour): count and answered."""
    quarter = _bucket(engine, QUARTER_HOUR)
    is_answered = case((col(Attempt.outcome).in_(ANSWERED_OUTCOMES), 1), else_=0)
    rows = session.exec(
        select(Contact.timezone, quarter, func.count(), func.sum(is_answered))
        .join(Contact, col(Contact.id) == col(Attempt.contact_id))
        .where(
            Attempt.campaign_id == campaign.id,
            col(Attempt.dialing_at).is_not(None),
            col(Attempt.outcome).is_not(None),
        )
        .group_by(col(Contact.timezone), quarter)
    ).all()
    return [(str(z), int(q), int(n), int(ok or 0)) for z, q, n, ok in rows]
