"""Reconciling attempts whose final event never came, from MTT's histories.

Before a call attempt with no final event is written off as ``unknown``, the scheduler asks the
Telecom API (``getCallHistory``) what happened to calls to that number since the attempt was
dialled. History records carry no ``messId``, so a record matches an attempt by the dialled
number (``cld``/``clid``) and time: the earliest record connected at or after the dial.

SMS attempts are looked up by their ``message_sid`` in msapi's message list, which also lists
the inbound messages (see ``dialer.outcomes.sms_history``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from dialer.errors import ProviderError
from dialer.providers.msapi import PAGE_LIMIT, MsapiClient
from dialer.providers.msapi_models import MsapiMessage
from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.providers.telecom_records import CallRecord
from dialer.settings import Settings

log = logging.getLogger(__name__)


class CallbackLookup(Protocol):
    @property
    def attempt_id(self) -> int: ...
    @property
    def call_id(self) -> str: ...


CLOCK_SLACK = timedelta(minutes=1)
"""How far a history record's time may precede our dial time (clocks differ)."""
MAX_INBOUND_PAGES = 50
"""Most pages (of 20) of inbound messages read in one scan."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A live call attempt past its event timeout."""

    attempt_id: int
    number: str
    dialed_at: datetime


@dataclass(frozen=True, slots=True)
class Reconciled:
    cause: int
    duration: int


class Reconciler:
    """Reads MTT's histories for the scheduler. Each method makes its own short-lived client
    (the scheduler is synchronous) and answers empty when its provider is not configured or
    fails (logged); the attempts then stay as they are."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.has_calls = bool(settings.mtt_login and settings.mtt_sip_id)
        self.has_sms = bool(settings.msapi_account_sid and settings.msapi_token.get_secret_value())
        self.has_callbacks = bool(settings.mtt_login and settings.mtt_callback_customer_name)
        self.has_connections = bool(
            settings.mtt_business_client_id and settings.secret_key.get_secret_value()
        )

    def refresh_connections(self, engine: Engine, now: datetime) -> int:
        """Refresh the OAuth access tokens about to expire (MTT Business), under the
        connection's lock; a lapsed one pauses its campaigns (logged). Returns how many were
        refreshed."""
        if not self.has_connections:
            return 0
        from dialer.connections import store
        from dialer.connections.mtt_business import PROVIDER, grants, uses_mtt_business
        from dialer.connections.sealing import Sealer

        refreshed = 0
        for provider in store.due_for_refresh(engine, now):
            if provider != PROVIDER:
                continue
            try:
                store.refresh_locked(
                    engine,
                    provider,
                    lambda: grants(self._settings),
                    Sealer(self._settings.secret_key),
                    now,
                    uses=uses_mtt_business,
                )
                refreshed += 1
            except ProviderError as exc:
                log.warning("%s token not refreshed: %s", provider, exc)
        return refreshed

    def callback_infos(self, lookups: Sequence[CallbackLookup]) -> dict[int, CallbackCallInfo]:
        """``getCallBackFollowmeCallInfo`` of each callback, by attempt id; a callback whose
        info could not be read is left out (logged)."""
        if not (self.has_callbacks and lookups):
            return {}
        return asyncio.run(_callback_infos(self._settings, lookups))

    def calls(self, candidates: Sequence[Candidate]) -> dict[int, Reconciled]:
        """Timed-out call attempts settled from ``getCallHistory``, by attempt id."""
        if not (self.has_calls and candidates):
            return {}
        return asyncio.run(_look_up(self._settings, candidates))

    def sms_messages(self, message_sids: Sequence[str]) -> list[MsapiMessage]:
        """The messages with these sids as msapi lists them now (unknown sids are left out)."""
        if not (self.has_sms and message_sids):
            return []
        found = asyncio.run(self._with_msapi(lambda client: _messages(client, message_sids)))
        return found or []

    def inbound_sms(self, since: datetime) -> list[MsapiMessage] | None:
        """Inbound messages created at or after ``since`` (newest first, as msapi lists them;
        at most ``MAX_INBOUND_PAGES`` pages); ``None`` when msapi could not be read."""
        if not self.has_sms:
            return None
        return asyncio.run(self._with_msapi(lambda client: _inbound(client, since)))

    async def _with_msapi(
        self, read: Callable[[MsapiClient], Awaitable[list[MsapiMessage]]]
    ) -> list[MsapiMessage] | None:
        from dialer.providers.factory import build_sms_provider

        client = build_sms_provider(self._settings)
        try:
            return await read(client)
        except ProviderError as exc:
            log.warning("msapi message history unavailable (%s)", exc)
            return None
        finally:
            await client.aclose()


async def _messages(client: MsapiClient, message_sids: Sequence[str]) -> list[MsapiMessage]:
    found: list[MsapiMessage] = []
    for sid in message_sids:
        page = await client.get_message(sid)
        found.extend(m for m in page.messages if m.message_sid == sid)
    return found


async def _inbound(client: MsapiClient, since: datetime) -> list[MsapiMessage]:
    found: list[MsapiMessage] = []
    for index in range(MAX_INBOUND_PAGES):
        page = await client.list_messages(offset=index * PAGE_LIMIT, direction="inbound")
        fresh = [m for m in page.messages if m.created is None or m.created >= since]
        found.extend(fresh)
        if len(fresh) < len(page.messages) or len(page.messages) < PAGE_LIMIT:
            break
    return found


def match_history(
    candidates: Sequence[Candidate], records: Sequence[CallRecord]
) -> dict[int, Reconciled]:
    """Pair attempts with history records (pure). Each record settles at most one attempt."""
    used: set[int] = set()
    found: dict[int, Reconciled] = {}
    for candidate in sorted(candidates, key=lambda c: c.dialed_at):
        best: tuple[datetime, int] | None = None
        for index, record in enumerate(records):
            if index in used or record.cld != candidate.number or record.disconnect_cause is None:
                continue
            when = record.connect_time
            if when is None or when < candidate.dialed_at - CLOCK_SLACK:
                continue
            if best is None or when < best[0]:
                best = (when, index)
        if best is not None:
            used.add(best[1])
            record = records[best[1]]
            found[candidate.attempt_id] = Reconciled(
                record.disconnect_cause or 0, record.used_quantity or 0
            )
    return found


def build_reconciler(settings: Settings) -> Reconciler | None:
    """A reconciler for the configured providers, or ``None`` when none has credentials."""
    reconciler = Reconciler(settings)
    configured = (
        reconciler.has_calls
        or reconciler.has_sms
        or reconciler.has_callbacks
        or reconciler.has_connections
    )
    return reconciler if configured else None


async def _callback_infos(
    settings: Settings, lookups: Sequence[CallbackLookup]
) -> dict[int, CallbackCallInfo]:
    from dialer.providers.factory import build_callback_client

    client = build_callback_client(settings)
    found: dict[int, CallbackCallInfo] = {}
    try:
        for lookup in lookups:
            try:
                found[lookup.attempt_id] = await client.get_call_info(lookup.call_id)
            except ProviderError as exc:
                log.warning(
                    "getCallBackFollowmeCallInfo failed for attempt %s (%s)", lookup.attempt_id, exc
                )
    finally:
        await client.aclose()
    return found


async def _look_up(settings: Settings, candidates: Sequence[Candidate]) -> dict[int, Reconciled]:
    from dialer.providers.factory import build_telecom_client

    if not candidates:
        return {}
    client = build_telecom_client(settings)
    try:
        start = min(c.dialed_at for c in candidates) - CLOCK_SLACK
        end = max(c.dialed_at for c in candidates) + timedelta(hours=1)
        history = await client.get_call_history(settings.mtt_sip_id, start, end)
    except ProviderError as exc:
        log.warning("getCallHistory failed (%s); %d attempts stay unknown", exc, len(candidates))
        return {}
    finally:
        await client.aclose()
    return match_history(candidates, history.dialed)
