"""Dial one attempt: gates, rate token, claim, one provider request, record the result.

At most one dial per attempt: the claim (``queued`` → ``dialing``) is committed before the
HTTP request, and a request whose fate is unknown is never sent again (the attempt waits for
its events, then the ``unknown`` policy applies).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session

from dialer.campaign.config import CampaignConfig
from dialer.channels import channel_for
from dialer.db.engine import session_scope
from dialer.db.models import Attempt
from dialer.dispatch import store
from dialer.dispatch.runtime import Runtime
from dialer.errors import (
    ContactBlockedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)
from dialer.outcomes.orphans import match_orphans
from dialer.policy.gates import check_gates
from dialer.providers.base import Submitted
from dialer.settings import Settings
from dialer.states import AttemptStatus, Outcome

log = logging.getLogger(__name__)

MAX_TRANSIENT_TRIES = 5
"""Sends of one attempt that the provider did not process before it counts as ``network``."""


class DialResult(StrEnum):
    SUBMITTED = "submitted"
    SKIPPED = "skipped"  # not queued any more (duplicate message, cancelled)
    NOT_YET = "not_yet"  # backing off after a transient failure
    GATED = "gated"  # a gate closed: not dialled
    TRANSIENT = "transient"
    UNKNOWN = "unknown"
    FAILED = "failed"
    PAUSED = "paused"  # auth or campaign-level refusal paused the campaign
    STOPPING = "stopping"  # the worker is shutting down: not dialled, left (or put back) queued


def account_key(channel: str, settings: Settings, config: CampaignConfig) -> str:
    """Rate limits are per provider account, shared by every campaign and worker."""
    return channel_for(channel).account_key(settings, config)


def _gate_and_claim(rt: Runtime, attempt_id: int) -> store.DialContext | DialResult:
    """In one transaction: re-read, re-check the gates, and claim the attempt."""
    now = rt.clock()
    with session_scope(rt.engine) as session:
        ctx = store.read_dial_context(session, attempt_id)
        if ctx is None or ctx.attempt_status != AttemptStatus.QUEUED:
            return DialResult.SKIPPED
        if ctx.not_before is not None and ctx.not_before > now:
            return DialResult.NOT_YET
        verdict = check_gates(
            campaign_state=ctx.campaign_state,
            config=ctx.config,
            zones=ctx.zones,
            on_dnc=ctx.on_dnc,
            budget_used=ctx.budget_used,
            now=now,
        )
        if not verdict.open:
            store.release_undialled(
                session,
                attempt_id,
                reason=verdict.reason,
                retry_at=verdict.retry_at,
                final_status=verdict.final_status,
                now=now,
            )
            return DialResult.GATED
        if not store.claim(session, attempt_id, now):
            return DialResult.SKIPPED
        return ctx


async def dial_attempt(rt: Runtime, attempt_id: int) -> DialResult:
    """Dial one queued attempt at most once. Safe to call again with the same id.

    A worker that is stopping claims nothing, and an attempt it claimed but has not sent yet
    (still waiting for its rate token) goes back to ``queued`` with nothing spent; the
    scheduler sends it again (its lost-message sweep, or the next ``dialer run``)."""
    if rt.stopping:
        return DialResult.STOPPING
    claimed = await asyncio.to_thread(_gate_and_claim, rt, attempt_id)
    if isinstance(claimed, DialResult):
        return claimed
    # The rate token is taken last, right before the request, so the spacing MTT sees is the
    # spacing the limiter granted (a database round trip in between would add jitter). The
    # wait is short: the scheduler keeps only a few seconds of work queued, well inside the
    # dial lease.
    rt.states.watch(claimed.campaign_id, claimed.campaign_state)
    # Build the pooled client (first dial of the process) before the token, not after it.
    channel = channel_for(claimed.channel)
    client = rt.client_for(channel, claimed.config)
    key = account_key(claimed.channel, rt.settings, claimed.config)
    if not await rt.wait_for_token(key, claimed.config.limits.rps):
        await asyncio.to_thread(_unclaim, rt, claimed.attempt_id)
        return DialResult.STOPPING
    if not rt.states.running(claimed.campaign_id):
        await asyncio.to_thread(_release_claimed, rt, claimed.attempt_id)
        return DialResult.GATED
    try:
        submitted = await channel.send(client, claimed, rt.settings)
    except ProviderError as exc:
        return await asyncio.to_thread(_record_error, rt, claimed, exc)
    await asyncio.to_thread(_record_submitted, rt, attempt_id, submitted)
    return DialResult.SUBMITTED


def _release_claimed(rt: Runtime, attempt_id: int) -> None:
    """The campaign was paused or cancelled while this attempt waited for its rate token."""
    now = rt.clock()
    with session_scope(rt.engine) as session:
        store.release_undialled(
            session,
            attempt_id,
            reason="campaign not running",
            retry_at=now,
            final_status=None,
            now=now,
        )


def _unclaim(rt: Runtime, attempt_id: int) -> None:
    """The worker is stopping and this attempt was never sent: back to ``queued``."""
    now = rt.clock()
    with session_scope(rt.engine) as session:
        store.unclaim(session, attempt_id, now)


def _record_submitted(rt: Runtime, attempt_id: int, submitted: Submitted) -> None:
    now = rt.clock()
    with session_scope(rt.engine) as session:
        store.record_submitted(session, attempt_id, submitted.provider_id, now)
    # Events that arrived before we knew the provider id (msapi statuses) are applied now.
    match_orphans(rt.engine, provider_id=submitted.provider_id, now=now)


def _record_error(rt: Runtime, ctx: store.DialContext, exc: ProviderError) -> DialResult:
    now = rt.clock()
    error = f"{type(exc).__name__}: {exc}"
    with session_scope(rt.engine) as session:
        if isinstance(exc, TransientProviderError):
            tries = _tries(session, ctx.attempt_id)
            if tries >= MAX_TRANSIENT_TRIES:
                store.record_failed(session, ctx.attempt_id, Outcome.NETWORK, error, now)
                return DialResult.FAILED
            backoff = min(2.0**tries, 60.0) * (0.75 + random.random() / 2)
            not_before = now + timedelta(seconds=backoff)
            store.record_transient(session, ctx.attempt_id, error, not_before, now)
            result = DialResult.TRANSIENT
        elif isinstance(exc, UnknownOutcomeError):
            store.record_unknown(session, ctx.attempt_id, error, now)
            return DialResult.UNKNOWN
        elif isinstance(exc, InvalidNumberError):
            store.record_failed(session, ctx.attempt_id, Outcome.INVALID_NUMBER, error, now)
            return DialResult.FAILED
        elif isinstance(exc, ContactBlockedError):
            store.record_failed(session, ctx.attempt_id, Outcome.OPTED_OUT, error, now)
            return DialResult.FAILED
        elif isinstance(exc, ProviderAuthError) or (
            isinstance(exc, ProviderRefusedError) and exc.campaign_level
        ):
            store.pause_campaign(session, ctx.campaign_id, f"provider refused: {exc}", now)
            store.release_undialled(
                session,
                ctx.attempt_id,
                reason=f"campaign paused: {exc}",
                retry_at=now,
                final_status=None,
                now=now,
            )
            log.error("campaign %s paused: %s", ctx.campaign_id, error)
            return DialResult.PAUSED
        else:
            store.record_failed(session, ctx.attempt_id, Outcome.PROVIDER_ERROR, error, now)
            return DialResult.FAILED
    rt.enqueue(ctx.attempt_id, ctx.channel, int(backoff * 1000))
    return result


def _tries(session: Session, attempt_id: int) -> int:
    attempt = session.get(Attempt, attempt_id)
    return attempt.tries if attempt is not None else MAX_TRANSIENT_TRIES
