"""Campaign controls and the pre-flight checks that guard ``start``."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import change_state, config_of, count_contacts, get_campaign
from dialer.channels import channel_for
from dialer.db.engine import session_scope
from dialer.errors import PreflightError, ProviderError
from dialer.settings import Settings


def control_campaign(
    settings: Settings, engine: Engine, ref: str, action: str, *, reason: str | None = None
) -> str:
    """Apply a state action to a campaign; ``start`` runs the pre-flight checks first.
    ``reason`` is kept as the campaign's ``state_reason`` (who paused it, and why).

    Takes effect at once: workers re-check the campaign state before every dial.
    """
    if action == "start":
        with session_scope(engine) as session:
            campaign = get_campaign(session, ref)
            config = config_of(campaign)
            contacts = count_contacts(session, campaign.id or 0)
        if contacts == 0 and config.channel != "callback":  # a callback one is fed by menus
            raise PreflightError(
                f"cannot start {campaign.name!r}: no contacts loaded; load some first "
                f"(dialer load {campaign.name} FILE.csv)"
            )
        preflight(settings, config)
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref, for_update=True)
        return change_state(session, campaign, action, reason=reason).value


def preflight(settings: Settings, config: CampaignConfig) -> None:
    """Refuse to start a campaign that cannot work: its channel's settings, then (with
    ``DIALER_MIN_BALANCE``) the balance and the channel's own account check. Raises
    ``PreflightError``."""
    channel = channel_for(config.channel)
    missing = channel.missing_settings(settings, config)
    if missing:
        raise PreflightError(f"cannot start {config.name!r}: set {', '.join(missing)}")
    problem = channel.check_settings(settings, config)
    if problem is not None:
        raise PreflightError(f"cannot start {config.name!r}: {problem}")
    asyncio.run(_check_provider_account(settings, config))


async def _check_provider_account(settings: Settings, config: CampaignConfig) -> None:
    from dialer.providers.factory import build_telecom_client

    try:
        if settings.min_balance is not None:
            telecom = build_telecom_client(settings)
            try:
                balance = await telecom.get_customer_balance(settings.mtt_customer_name)
            finally:
                await telecom.aclose()
            if balance.balance < settings.min_balance:
                raise PreflightError(
                    f"cannot start {config.name!r}: balance {balance.balance} is below "
                    f"DIALER_MIN_BALANCE {settings.min_balance}"
                )
        problem = await channel_for(config.channel).check_account(settings, config)
    except ProviderError as exc:
        raise PreflightError(
            f"cannot start {config.name!r}: provider check failed: {exc}"
        ) from None
    if problem is not None:
        raise PreflightError(f"cannot start {config.name!r}: {problem}")
