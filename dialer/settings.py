"""Process settings, read from ``DIALER_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a dialer process needs to know about its environment.

    Secrets are ``SecretStr`` so they never leak through ``repr`` or logs.
    """

    model_config = SettingsConfigDict(
        env_prefix="DIALER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///dialer.db"
    redis_url: str | None = None
    """Unset means the embedded, in-process broker (``dialer run``)."""

    public_url: str | None = None
    """How MTT reaches the collector, e.g. ``https://dialer.example.ru``."""
    webhook_token: SecretStr = SecretStr("")

    mtt_sb_url: str = "https://sb-api.mtt.ru/v1/sb"
    mtt_login: str = ""
    mtt_password: SecretStr = SecretStr("")
    mtt_sip_id: str = ""
    mtt_informer_method: str = ""
    """The informer method name MTT assigns at activation (the docs only show a placeholder)."""
    mtt_api_url: str = "https://webapicommon.mtt.ru/index.php"
    mtt_customer_name: str = ""
    """Personal account (лицевой счёт) for getCustomerBalance / getServiceHistoryByCustomer."""

    msapi_url: str = "https://msapi.mtt.ru"
    msapi_account_sid: str = ""
    msapi_token: SecretStr = SecretStr("")

    min_balance: Decimal | None = None
    """Pre-flight balance floor in roubles; the balance check runs only when this is set."""

    http_connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for a TCP/TLS connection to a provider."""
    http_read_timeout: float = Field(default=15.0, gt=0)
    """Seconds to wait for a provider's answer once the request was sent."""

    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    """Largest webhook body the collector accepts, in bytes (larger: 413)."""

    dial_lease_seconds: float = Field(default=90.0, gt=0)
    """How long an attempt may stay ``dialing`` before its worker is presumed dead (then it
    waits for events as ``unknown``); keep it above the HTTP connect + read timeouts."""
    requeue_after_seconds: float = Field(default=20.0, gt=0)
    """A ``queued`` attempt whose message is this overdue is sent again (the queue lost it)."""

    sandbox: bool = False
    """Running against the built-in simulator: IVR notify URLs may be plain http."""

    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import)."""
    return Settings()
