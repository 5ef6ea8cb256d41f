"""Campaign rows: create, look up, and change state. All campaign SQL lives here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from dialer.campaign.config import CampaignConfig
from dialer.db.models import Attempt, Campaign, Contact
from dialer.db.types import utcnow
from dialer.errors import ConfigError, NotFoundError, StateError
from dialer.states import WAITING_CONTACT_STATUSES, AttemptStatus, CampaignState, ContactStatus

_TRANSITIONS: dict[str, tuple[frozenset[CampaignState], CampaignState]] = {
    "start": (
        frozenset({CampaignState.DRAFT, CampaignState.PAUSED, CampaignState.COMPLETED}),
        CampaignState.RUNNING,
    ),
    "pause": (frozenset({CampaignState.RUNNING}), CampaignState.PAUSED),
    "resume": (frozenset({CampaignState.PAUSED}), CampaignState.RUNNING),
    "cancel": (
        frozenset(
            {
                CampaignState.DRAFT,
                CampaignState.RUNNING,
                CampaignState.PAUSED,
                CampaignState.COMPLETED,
            }
        ),
        CampaignState.CANCELLED,
    ),
}


USER_PAUSE_REASON = "paused by user"
"""``state_reason`` of a pause a person asked for (``campaign pause``, Ctrl-C of ``dialer
run``); a pause by the provider's refusal says ``provider refused: ...`` instead."""

ConfigOverlay = Callable[[CampaignConfig], CampaignConfig]

_overlay: ConfigOverlay | None = None


def config_of(campaign: Campaign) -> CampaignConfig:
    """The campaign's validated file. Parsed once per distinct text: every dial, event and
    retry decision asks for it, and the config is immutable (frozen)."""
    return stored_config(campaign.config_json)


def stored_config(config_json: str) -> CampaignConfig:
    """A campaign's ``config_json`` column, validated, as this process runs it (with the
    overlay of ``config_overlay`` applied, if any). Cached: see ``config_of``."""
    if _overlay is None:
        return _parsed(config_json)
    return _overlaid(config_json)


@lru_cache(maxsize=128)
def _parsed(config_json: str) -> CampaignConfig:
    return CampaignConfig.model_validate_json(config_json)


@lru_cache(maxsize=128)
def _overlaid(config_json: str) -> CampaignConfig:
    assert _overlay is not None
    return _overlay(_parsed(config_json))


@contextmanager
def config_overlay(overlay: ConfigOverlay) -> Iterator[None]:
    """Run every campaign of this process as ``overlay(stored config)`` while the block
    runs, without changing what is stored (``dialer run --sandbox``: fast retries, an open
    window). Process-wide: only for a process that runs nothing else."""
    global _overlay
    _overlay = overlay
    _overlaid.cache_clear()
    try:
        yield
    finally:
        _overlay = None
        _overlaid.cache_clear()


def create_campaign(
    session: Session, config: CampaignConfig, source_path: str | None = None
) -> tuple[Campaign, bool]:
    """Register a campaign. Returns ``(campaign, created)``.

    Creating the same file twice is a no-op; a different file under an existing name is an
    error, so a typo cannot silently rewrite a running campaign's message.
    """
    existing = session.exec(select(Campaign).where(Campaign.name == config.name)).first()
    config_json = config.model_dump_json()
    if existing is not None:
        if existing.config_json == config_json:
            return existing, False
        raise StateError(
            f"campaign {config.name!r} already exists with a different configuration; "
            "choose another name"
        )
    check_callback_links(session, config, source_path or config.name)
    campaign = Campaign(
        name=config.name, channel=config.channel, config_json=config_json, source_path=source_path
    )
    session.add(campaign)
    session.flush()
    return campaign, True


def check_callback_links(session: Session, config: CampaignConfig, source: str) -> None:
    """Every ``callback`` menu digit must name an existing ``channel = "callback"``
    campaign. Raises ``ConfigError`` naming the file, the digit and the campaign."""
    for item in config.menu:
        if item.action != "callback" or not item.campaign:
            continue
        target = session.exec(select(Campaign).where(Campaign.name == item.campaign)).first()
        if target is None:
            raise ConfigError(
                f"{source}: menu digit {item.digit}: callback campaign {item.campaign!r} does "
                "not exist; create it first (dialer campaign create ITS_FILE.toml)"
            )
        if target.channel != "callback":
            raise ConfigError(
                f"{source}: menu digit {item.digit}: campaign {item.campaign!r} is a "
                f"{target.channel} campaign, not channel = 'callback'"
            )


def get_campaign(session: Session, ref: str, *, for_update: bool = False) -> Campaign:
    """Find a campaign by name, or by numeric id. Raises ``NotFoundError``."""
    query = select(Campaign).where(Campaign.name == ref)
    if for_update:
        query = query.with_for_update()
    campaign = session.exec(query).first()
    if campaign is None and ref.isdigit():
        campaign = session.get(Campaign, int(ref))
    if campaign is None:
        raise NotFoundError(f"unknown campaign {ref!r}")
    return campaign


def count_contacts(session: Session, campaign_id: int) -> int:
    """How many contacts the campaign has, in any status."""
    return int(
        session.exec(
            select(func.count()).select_from(Contact).where(Contact.campaign_id == campaign_id)
        ).one()
    )


def change_state(
    session: Session,
    campaign: Campaign,
    action: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> CampaignState:
    """Apply ``start``, ``pause``, ``resume`` or ``cancel``. Raises ``StateError`` when the
    current state doesn't allow it. Repeating the action that led to the current state is a
    no-op (pausing a paused campaign)."""
    allowed, target = _TRANSITIONS[action]
    current = CampaignState(campaign.state)
    if current == target:
        return current
    if current not in allowed:
        raise StateError(f"campaign {campaign.name!r} is {current.value}; cannot {action}")
    now = now or utcnow()
    campaign.state = target.value
    campaign.state_reason = reason
    campaign.updated_at = now
    if target == CampaignState.RUNNING and campaign.started_at is None:
        campaign.started_at = now
    if target == CampaignState.CANCELLED:
        campaign.finished_at = now
        _cancel_waiting(session, campaign, now)
    session.add(campaign)
    session.flush()
    return target


def _cancel_waiting(session: Session, campaign: Campaign, now: datetime) -> None:
    """Cancel finalises every contact that is only waiting, and drops queued attempts
    (never dialled). Attempts already with the provider finish and record their outcome."""
    queued = select(Attempt.contact_id).where(
        Attempt.campaign_id == campaign.id, Attempt.status == AttemptStatus.QUEUED
    )
    session.execute(
        update(Contact)
        .where(
            col(Contact.campaign_id) == campaign.id,
            col(Contact.id).in_(queued.scalar_subquery()),
        )
        .values(
            status=ContactStatus.CANCELLED,
            reason="campaign cancelled",
            next_attempt_at=None,
            updated_at=now,
        )
    )
    session.execute(
        update(Attempt)
        .where(col(Attempt.campaign_id) == campaign.id, col(Attempt.status) == AttemptStatus.QUEUED)
        .values(status=AttemptStatus.CANCELLED, error="campaign cancelled", updated_at=now)
    )
    session.execute(
        update(Contact)
        .where(
            col(Contact.campaign_id) == campaign.id,
            col(Contact.status).in_([s.value for s in WAITING_CONTACT_STATUSES]),
        )
        .values(
            status=ContactStatus.CANCELLED,
            reason="campaign cancelled",
            next_attempt_at=None,
            updated_at=now,
        )
    )
