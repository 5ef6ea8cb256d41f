"""Wiring the built-in MTT simulator to the dialer (``dialer run --sandbox``, ``dialer
simulator``): matching credentials, webhook URLs, and compressed time for demos."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import Engine

from dialer.campaign.config import CampaignConfig, describe_validation_error
from dialer.campaign.values import WEEKDAYS, Window
from dialer.errors import ConfigError, UserError
from dialer.settings import Settings
from dialer.simulator.callback import CALLBACK_CUSTOMER_NAME
from dialer.simulator.config import AccountNumber, Bitrix24Line, SimulatorConfig
from dialer.simulator.server import SimulatorServer, serve
from dialer.simulator.uis import uis_settings_for


def hook_url(base: str, token: str, route: str) -> str:
    return f"{base.rstrip('/')}/hooks/{token}/mtt/{route}"


def sandbox_campaign(config: CampaignConfig, speed: float) -> CampaignConfig:
    """The campaign as the sandbox runs it: retry delays and the event timeout divided by
    ``speed`` (the simulator runs ``speed`` times faster too) and the calling window always
    open, so a demo finishes in a minute at any time of day."""

    def fast(delay: timedelta) -> timedelta:
        return timedelta(seconds=max(delay.total_seconds() / speed, 1.0))

    retry = config.retry.model_copy(
        update={
            name: fast(getattr(config.retry, name))
            for name in (
                "busy",
                "no_answer",
                "unreachable",
                "rejected",
                "network",
                "undelivered",
                "unknown",
                "agent_no_answer",
            )
        }
        | {
            "event_timeout": timedelta(
                seconds=max(config.retry.event_timeout.total_seconds() / speed, 20.0)
            )
        }
    )
    schedule = config.schedule.model_copy(
        update={"window": Window.parse("00:00-24:00"), "days": WEEKDAYS}
    )
    return config.model_copy(update={"retry": retry, "schedule": schedule})


def simulator_config(
    settings: Settings,
    *,
    config_path: Path | None = None,
    speed: float | None = None,
    call_webhook: str | None = None,
    sms_webhook: str | None = None,
) -> SimulatorConfig:
    """Simulator settings: from a JSON file if given, with the account taken from the
    dialer's own ``DIALER_MTT_*`` / ``DIALER_MSAPI_*`` settings where those are set."""
    data: dict[str, object] = {}
    if config_path is not None:
        try:
            data = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{config_path}: cannot read simulator settings: {exc}") from None
    account = {
        "login": settings.mtt_login,
        "password": settings.mtt_password.get_secret_value(),
        "sip_id": settings.mtt_sip_id,
        "informer_method": settings.mtt_informer_method,
        "customer_name": settings.mtt_customer_name,
        "account_sid": settings.msapi_account_sid,
        "token": settings.msapi_token.get_secret_value(),
    }
    data.update({key: value for key, value in account.items() if value and key not in data})
    if speed is not None:
        data["speed"] = speed
    if call_webhook:
        data["call_webhook_url"] = call_webhook
    if sms_webhook:
        data["sms_webhook_url"] = sms_webhook
    try:
        return SimulatorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            describe_validation_error(exc, str(config_path or "simulator settings"))
        ) from None


def sandbox_simulator_config(
    speed: float, *, sender: str | None = None, agents: tuple[str, ...] = ()
) -> SimulatorConfig:
    """The simulator for ``dialer run --sandbox``: events in every documented shape,
    plain-http notify URLs allowed, ``speed`` times faster. The webhook URLs are filled in
    by ``embedded_stack`` once the collector is listening."""
    config = SimulatorConfig(
        speed=speed,
        allow_http_notify=True,
        event_shape="mixed",
        # The demo's menu has a "call me back" digit 4: some subscribers press it.
        dtmf_weights={"1": 0.3, "2": 0.2, "3": 0.1, "4": 0.1, "none": 0.3},
    )
    if sender is not None and sender not in {n.number for n in config.numbers}:
        config.numbers.append(AccountNumber(number=sender, direction="OUT"))
    for agent in agents:  # a workplace of MTT Business, or a Bitrix24 line
        if agent.isdigit() and len(agent) != 11:
            config.mtt_business.workplaces.setdefault(agent, f"Агент {agent[-4:]}")
        if not agent.isdigit() or len(agent) < 11:
            config.bitrix24_lines.setdefault(agent, Bitrix24Line(name=f"Линия {agent}"))
    if sender is not None and sender not in config.uis_virtual_numbers:
        config.uis_virtual_numbers.append(sender)  # UIS calls from the account's numbers
    return config


SANDBOX_SECRET_KEY = "sandbox-secret-key-not-secret-0123456789"
"""Seals the sandbox's (simulated) OAuth tokens when DIALER_SECRET_KEY is unset."""


def connect_sandbox_mtt_business(settings: Settings, engine: Engine, collector_url: str) -> None:
    """Connect the simulated MTT Business account as a person would: authorise at the
    simulator's ``/oauth/authorize`` and exchange the code it sends back (taken from its
    redirect, which is not followed: the collector serves the real redirect)."""
    from urllib.parse import parse_qs, urlsplit

    import httpx

    from dialer.connections import store
    from dialer.connections.mtt_business import PROVIDER, grants
    from dialer.connections.sealing import Sealer
    from dialer.db.types import utcnow
    from dialer.providers.mtt_business_oauth import authorize_url

    redirect = f"{collector_url}/hooks/{settings.webhook_token.get_secret_value()}/mtt-business"
    state = store.begin(engine, PROVIDER, utcnow())
    link = authorize_url(
        settings.mtt_business_oauth_url, settings.mtt_business_client_id, redirect, state
    )
    answer = httpx.get(link, follow_redirects=False, timeout=10)
    back = parse_qs(urlsplit(answer.headers.get("location", "")).query)
    code = back.get("code", [""])[0]
    if not code:
        raise UserError(
            f"sandbox: the simulator did not authorise MTT Business ({answer.status_code})"
        )
    settings = settings.model_copy(update={"mtt_business_redirect_uri": redirect})
    store.complete(
        engine,
        PROVIDER,
        code,
        lambda: grants(settings),
        Sealer(settings.secret_key),
        utcnow(),
        state=back.get("state", [""])[0],
    )


def start_sandbox(settings: Settings, config: SimulatorConfig) -> tuple[Settings, SimulatorServer]:
    """Start the simulator; return the dialer settings that point at it (same credentials)
    and the running server."""
    server = SimulatorServer(config)
    base = server.start()
    return pointed_at_simulator(settings, base, config), server


def sandbox_secrets(settings: Settings, config: SimulatorConfig) -> Settings:
    """The secrets the collector checks or opens, as the simulator has them (a Bitrix24
    application token; the key sealing OAuth tokens): set before the collector starts,
    since they do not depend on where the simulator listens."""
    return settings.model_copy(
        update={
            "bitrix24_application_token": SecretStr(
                config.bitrix24_application_token.get_secret_value()
            ),
            "secret_key": settings.secret_key
            if settings.secret_key.get_secret_value()
            else SecretStr(SANDBOX_SECRET_KEY),
        }
    )


def pointed_at_simulator(settings: Settings, base: str, config: SimulatorConfig) -> Settings:
    """``settings`` with every provider's URL and credentials those of the simulator at
    ``base`` (its MTT, msapi, CallBack, UIS and MTT Business accounts), in sandbox mode."""
    return settings.model_copy(
        update={
            "mtt_sb_url": f"{base}/v1/sb",
            "mtt_api_url": f"{base}/index.php",
            "msapi_url": base,
            "mtt_login": config.login,
            "mtt_password": SecretStr(config.password.get_secret_value()),
            "mtt_sip_id": config.sip_id,
            "mtt_informer_method": config.informer_method,
            "mtt_customer_name": config.customer_name,
            "mtt_callback_customer_name": CALLBACK_CUSTOMER_NAME,
            **uis_settings_for(base, config),
            "mtt_business_oauth_url": f"{base}/mtt-business",
            "mtt_business_api_url": f"{base}/mtt-business/api",
            "mtt_business_client_id": config.mtt_business.client_id,
            "mtt_business_client_secret": SecretStr(
                config.mtt_business.client_secret.get_secret_value()
            ),
            "secret_key": settings.secret_key
            if settings.secret_key.get_secret_value()
            else SecretStr(SANDBOX_SECRET_KEY),
            "bitrix24_webhook_url": SecretStr(
                f"{base}/rest/{config.bitrix24_user_id}/"
                f"{config.bitrix24_webhook_code.get_secret_value()}/"
            ),
            "bitrix24_application_token": SecretStr(
                config.bitrix24_application_token.get_secret_value()
            ),
            "msapi_account_sid": config.account_sid,
            "msapi_token": SecretStr(config.token.get_secret_value()),
            "sandbox": True,
        }
    )


def serve_simulator(config: SimulatorConfig, host: str, port: int) -> None:
    """Run the simulator in the foreground until Ctrl-C / SIGTERM."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, host, port))
