"""Campaign controls and the pre-flight checks that guard ``start``."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import change_state, config_of, count_contacts, get_campaign
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
        if contacts == 0:
            raise PreflightError(
                f"cannot start {campaign.name!r}: no contacts loaded; load some first "
                f"(dialer load {campaign.name} FILE.csv)"
            )
        preflight(settings, config)
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref, for_update=True)
        return change_state(session, campaign, action, reason=reason).value


def notify_url(settings: Settings) -> str | None:
    """Where MTT posts IVR ``notify`` choices: ``DIALER_PUBLIC_URL/hooks/{token}/mtt/ivr``."""
    if not settings.public_url:
        return None
    token = settings.webhook_token.get_secret_value()
    return f"{settings.public_url.rstrip('/')}/hooks/{token}/mtt/ivr"


def preflight(settings: Settings, config: CampaignConfig) -> None:
    """Refuse to start a campaign that cannot work. Raises ``PreflightError``."""
    if config.channel in ("tts", "ivr"):
        _check_call_settings(settings, config)
    if config.channel == "sms":
        _check_sms_settings(settings)
    if settings.min_balance is not None or config.channel == "sms":
        asyncio.run(_check_provider_account(settings, config))


def _check_call_settings(settings: Settings, config: CampaignConfig) -> None:
    missing = [
        name
        for name, value in (
            ("DIALER_MTT_LOGIN", settings.mtt_login),
            ("DIALER_MTT_PASSWORD", settings.mtt_password.get_secret_value()),
            ("DIALER_MTT_SIP_ID", settings.mtt_sip_id),
        )
        if not value
    ]
    if config.channel == "tts" and not settings.mtt_informer_method:
        missing.append("DIALER_MTT_INFORMER_METHOD")
    if missing:
        raise PreflightError(f"cannot start {config.name!r}: set {', '.join(missing)}")
    if config.channel != "ivr" or not any(i.action != "transfer" for i in config.menu):
        return
    url = notify_url(settings)
    if not settings.webhook_token.get_secret_value():
        raise PreflightError(f"cannot start {config.name!r}: set DIALER_WEBHOOK_TOKEN")
    if url is None:
        raise PreflightError(
            f"cannot start IVR campaign {config.name!r}: set DIALER_PUBLIC_URL "
            "(MTT posts menu choices there)"
        )
    if not url.startswith("https://") and not settings.sandbox:
        raise PreflightError(
            f"cannot start IVR campaign {config.name!r}: DIALER_PUBLIC_URL must be https "
            "(MTT refuses other notify URLs)"
        )


def _check_sms_settings(settings: Settings) -> None:
    if not settings.msapi_account_sid or not settings.msapi_token.get_secret_value():
        raise PreflightError(
            "cannot start an SMS campaign: set DIALER_MSAPI_ACCOUNT_SID and _TOKEN"
        )


async def _check_provider_account(settings: Settings, config: CampaignConfig) -> None:
    from dialer.providers.factory import build_sms_provider, build_telecom_client

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
        if config.channel == "sms":
            sms = build_sms_provider(settings)
            try:
                senders = await sms.out_numbers()
            finally:
                await sms.aclose()
            if config.message.caller_id not in senders:
                raise PreflightError(
                    f"cannot start {config.name!r}: sender {config.message.caller_id} is not "
                    "one of the msapi account's OUT numbers"
                )
    except ProviderError as exc:
        raise PreflightError(
            f"cannot start {config.name!r}: provider check failed: {exc}"
        ) from None
