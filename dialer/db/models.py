"""The tables. Statuses are plain strings (see ``dialer.states``) so migrations stay simple.

Every contact is in exactly one ``ContactStatus`` at every moment; every attempt in one
``AttemptStatus``. The attempt id is the provider's ``messId`` (sb-api) and ``tag`` (msapi).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from dialer.db.types import UTCDateTime, utcnow
from dialer.states import LIVE_ATTEMPT_STATUSES


def _ts(*, index: bool = False) -> Any:
    """A nullable timezone-aware timestamp column."""
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=True)


def _created() -> Any:
    """A non-null timestamp column that defaults to now (UTC)."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


_LIVE = ", ".join(f"'{status}'" for status in sorted(LIVE_ATTEMPT_STATUSES))


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    channel: str = Field(max_length=8)
    state: str = Field(default="draft", max_length=16)
    state_reason: str | None = Field(default=None, max_length=500)
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    """The validated campaign file, as JSON (``CampaignConfig.model_dump_json()``)."""
    source_path: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        # Phone first: the same index serves opt-outs, which look a number up in every
        # campaign (one index fewer to write on every loaded row).
        UniqueConstraint("phone", "campaign_id", name="uq_contacts_phone_campaign"),
        # The scheduler's "due contacts of a campaign" query (and the campaign's numbers).
        Index("ix_contacts_due", "campaign_id", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", nullable=False)
    phone: str = Field(max_length=16)
    """E.164 digits without ``+`` (11 digits for +7)."""
    status: str = Field(default="pending", max_length=16)
    outcome: str | None = Field(default=None, max_length=24)
    reason: str | None = Field(default=None, max_length=500)
    """Why the contact waits or why it ended, in words."""
    attempts: int = Field(default=0)
    """Attempts made (rows in ``attempts``), whatever their outcome."""
    budget_used: int = Field(default=0)
    """Attempts that spend the ``max_attempts`` budget (network failures do not)."""
    next_attempt_at: datetime | None = _ts()
    timezone: str = Field(max_length=64)
    timezones: str = Field(default="", max_length=500)
    """Every IANA zone the number may be in, space separated (strict calling windows)."""
    region: str = Field(default="", max_length=2)
    line_no: int = Field(default=0)
    fields_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    """The contact's original CSV columns, as a JSON object (header → value)."""
    last_attempt_id: int | None = Field(default=None)
    last_attempt_at: datetime | None = _ts()
    last_cause: int | None = Field(default=None)
    duration: int | None = Field(default=None)
    """Seconds the contact listened (sb-api ``duration`` of the main call)."""
    dtmf: str | None = Field(default=None, max_length=4)
    dtmf_label: str | None = Field(default=None, max_length=100)
    transfer_duration: int | None = Field(default=None)
    """Seconds spent with the operator after a ``transfer`` menu choice."""
    sms_status: str | None = Field(default=None, max_length=24)
    agent: str | None = Field(default=None, max_length=16)
    """Agent callback: the agent who took the contact's last callback."""
    source: str | None = Field(default=None, max_length=300)
    """Where a contact not read from a file came from (an IVR ``callback`` press)."""
    updated_at: datetime = _created()


class Attempt(SQLModel, table=True):
    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_campaign_status", "campaign_id", "status"),
        Index("ix_attempts_status_updated", "status", "updated_at"),
        # Incremental exports (``dialer export --since``): a campaign's attempts changed since.
        Index("ix_attempts_campaign_updated", "campaign_id", "updated_at"),
        # One live attempt per contact, enforced by the database itself.
        Index(
            "uq_attempts_live_contact",
            "contact_id",
            unique=True,
            sqlite_where=text(f"status IN ({_LIVE})"),
            postgresql_where=text(f"status IN ({_LIVE})"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    """Our request id: sb-api ``messId``, msapi ``tag``."""
    campaign_id: int = Field(foreign_key="campaigns.id", nullable=False)
    contact_id: int = Field(foreign_key="contacts.id", nullable=False, index=True)
    channel: str = Field(max_length=8)
    status: str = Field(default="queued", max_length=16)
    outcome: str | None = Field(default=None, max_length=24)
    provider_id: str | None = Field(default=None, max_length=100, index=True)
    """MTT CallID or msapi message_sid."""
    number: str = Field(max_length=16)
    counts_budget: bool = Field(default=True)
    tries: int = Field(default=0)
    """How many times the request was handed to the provider client (transient failures)."""
    cause: int | None = Field(default=None)
    duration: int | None = Field(default=None)
    dtmf: str | None = Field(default=None, max_length=4)
    dtmf_label: str | None = Field(default=None, max_length=100)
    transfer_number: str | None = Field(default=None, max_length=16)
    transfer_cause: int | None = Field(default=None)
    transfer_duration: int | None = Field(default=None)
    sms_status: str | None = Field(default=None, max_length=24)
    agent: str | None = Field(default=None, max_length=16)
    """Agent callback: the agent who answered (``pickup_side_A``'s ``phone_A``)."""
    talk_seconds: int | None = Field(default=None)
    """Agent callback: seconds the agent and the contact talked."""
    cost: str | None = Field(default=None, max_length=24)
    """Agent callback: MTT's ``call_back_cost`` (decimal text, as MTT sent it)."""
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _created()
    enqueued_at: datetime | None = _ts()
    not_before: datetime | None = _ts()
    """A transient failure's backoff: not to be sent before this time."""
    dialing_at: datetime | None = _ts()
    submitted_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    slot_released_at: datetime | None = _ts()
    """When this attempt's concurrency slot was given back (hangup or event timeout)."""
    updated_at: datetime = _created()


class ProviderEvent(SQLModel, table=True):
    """The webhook inbox: every request the collector accepted, stored before the 2xx."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = _created()
    route: str = Field(max_length=8)
    """``call``, ``ivr`` or ``sms``."""
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default="pending", max_length=16)
    """``pending``, ``applied``, ``orphan``, ``ignored`` or ``invalid``."""
    kind: str | None = Field(default=None, max_length=24)
    attempt_id: int | None = Field(default=None, index=True)
    provider_id: str | None = Field(default=None, max_length=100, index=True)
    payload_json: str | None = Field(default=None, sa_column=Column(Text))
    """The normalised event, as JSON."""
    raw: str = Field(sa_column=Column(Text, nullable=False))
    """The request as received: method, content type, query and body (decoded, replaced)."""
    error: str | None = Field(default=None, max_length=500)
    applied_at: datetime | None = _ts()


class DncEntry(SQLModel, table=True):
    """The do-not-call list: numbers never to be dialled or messaged, in any campaign."""

    __tablename__ = "dnc"

    phone: str = Field(primary_key=True, max_length=16)
    source: str = Field(default="cli", max_length=16)
    """``cli``, ``import``, ``sms`` (inbound STOP) or ``ivr`` (opt-out digit)."""
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()


class Load(SQLModel, table=True):
    """One ``dialer load`` run and its summary, for audit."""

    __tablename__ = "loads"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", nullable=False, index=True)
    source_path: str = Field(max_length=1000)
    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    suppressed: int = 0
    rejects_file: str | None = Field(default=None, max_length=1000)
    columns_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The file's header (its distinct column names, in order) as a JSON list: the export's
    original-CSV columns come from here instead of a scan of every contact."""
    created_at: datetime = _created()


class Lease(SQLModel, table=True):
    """A named lease or heartbeat held by one process: ``scheduler/<host>:<pid>`` rows say a
    scheduler was alive at ``seen_at``; ``run`` is held by the one ``dialer run`` that may dial
    from this database. A lease whose ``seen_at`` is older than its holder's promise is free."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=200)
    holder: str = Field(max_length=200)
    """Who holds it: ``host:pid`` (and anything else useful to a human reading ``status``)."""
    acquired_at: datetime = _created()
    seen_at: datetime = _created()


class DncChange(SQLModel, table=True):
    """The do-not-call list's audit trail: every number put on it or taken off, when, by what
    (``cli``, ``import``, ``sms``, ``ivr``) and why. Never updated or deleted."""

    __tablename__ = "dnc_audit"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=16, index=True)
    action: str = Field(max_length=8)
    """``add`` or ``remove``."""
    source: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()


class OAuthConnection(SQLModel, table=True):
    """A provider account the dialer is authorised to act for (OAuth 2.0): its tokens,
    sealed (``dialer.connections.sealing``), and where the authorisation stands."""

    __tablename__ = "oauth_connections"

    provider: str = Field(primary_key=True, max_length=32)
    status: str = Field(default="pending", max_length=16)
    """``pending`` (authorisation asked, no tokens yet), ``connected`` or ``lapsed``."""
    reason: str | None = Field(default=None, max_length=500)
    access_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    refresh_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    access_expires_at: datetime | None = _ts()
    refresh_expires_at: datetime | None = _ts()
    state_hash: str | None = Field(default=None, max_length=64)
    """SHA-256 of the ``state`` of the authorisation in progress (CSRF)."""
    state_expires_at: datetime | None = _ts()
    connected_at: datetime | None = _ts()
    refreshed_at: datetime | None = _ts()
    updated_at: datetime = _created()


class User(SQLModel, table=True):
    """A person who signs in to the web console (``dialer user add``)."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    role: str = Field(max_length=16)
    """``admin``, ``manager`` or ``analyst`` (``dialer.accounts.roles.Role``)."""
    password_hash: str = Field(max_length=200)
    """argon2id, in its PHC string form."""
    created_at: datetime = _created()
    disabled_at: datetime | None = _ts()


class ApiToken(SQLModel, table=True):
    """A bearer token for the HTTP API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    """SHA-256 of the token, hex."""
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()
    """Updated at most once a minute."""
    revoked_at: datetime | None = _ts()


class WebSession(SQLModel, table=True):
    """A signed-in browser: the id is the SHA-256 (hex) of the cookie's value, so a copy of
    the table does not sign anyone in."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", nullable=False)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, counted per key (``user:alice``, ``ip:1.2.3.4``) to throttle
    guessing."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
