"""Process settings, read from ``DIALER_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.logs import LOG_LEVELS

MIN_WEBHOOK_TOKEN_CHARS = 16
MAKE_TOKEN = 'python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
DATABASE_URL_FORMS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:)([^@/?#]*)(@)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def mask_url(url: str) -> str:
    """``url`` with its password (``scheme://user:PASSWORD@host``) shown as ``***``."""
    return _URL_PASSWORD.sub(lambda match: match.group(1) + "***" + match.group(3), url)


def url_password(url: str | None) -> str | None:
    """The password inside ``url``, if it has one (to mask it in logs)."""
    match = _URL_PASSWORD.match(url or "")
    return match.group(2) if match and match.group(2) else None


def check_database_url(url: str) -> str:
    """``url`` if the dialer can use it: SQLite (``sqlite:///PATH``, ``sqlite://`` in memory)
    or PostgreSQL (``postgresql://``, ``postgres://``, ``postgresql+psycopg://``). Raises
    ``ValueError`` naming what is wrong, never echoing a password."""
    scheme_match = _SCHEME.match(url)
    if scheme_match is None:
        raise ValueError(f"not a database URL (no scheme://); use {DATABASE_URL_FORMS}")
    scheme = scheme_match.group(1).lower()
    if scheme in ("sqlite", "sqlite+pysqlite"):
        rest = url[scheme_match.end() :]
        if rest and not rest.startswith("/"):
            host = rest.split("/", 1)[0]
            raise ValueError(
                f"{scheme}://{host} names a host, not a file; a file is sqlite:///{rest} "
                "(three slashes)"
            )
        return url
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return url
    raise ValueError(f"unsupported database {scheme!r}; use {DATABASE_URL_FORMS}")


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad ``DIALER_*`` setting and what is wrong with it (never the
    value: it may be a secret)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        name = "DIALER_" + "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts) or "invalid settings"


class Settings(BaseSettings):
    """Everything a dialer process needs to know about its environment.

    Secrets are ``SecretStr`` so they never leak through ``repr`` or logs; the database and
    Redis URLs stay ``str`` (every driver takes them as text) but their passwords are masked
    in ``repr`` and in validation errors, which never show an input value.
    """

    model_config = SettingsConfigDict(
        env_prefix="DIALER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
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
    body_read_timeout: float = Field(default=10.0, gt=0)
    """Seconds a webhook body may take to arrive once its headers are in (longer: 408)."""
    max_slow_bodies: int = Field(default=32, gt=0)
    """Webhook bodies still arriving after half a second that the collector reads at once;
    past it a slow request is answered 503 at once (MTT delivers it again)."""
    metrics_cache_seconds: float = Field(default=15.0, ge=0)
    """How long one reading of the database gauges on ``/metrics`` is served, in seconds."""

    dial_lease_seconds: float = Field(default=90.0, gt=0)
    """How long an attempt may stay ``dialing`` before its worker is presumed dead (then it
    waits for events as ``unknown``); keep it above the HTTP connect + read timeouts."""
    requeue_after_seconds: float = Field(default=20.0, gt=0)
    """A ``queued`` attempt whose message is this overdue is sent again (the queue lost it)."""

    sandbox: bool = False
    """Running against the built-in simulator: IVR notify URLs may be plain http."""

    log_level: str = "INFO"
    """One of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)."""

    @field_validator("database_url")
    @classmethod
    def _database_url_usable(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url_usable(cls, value: str | None) -> str | None:
        if not value:
            return None
        scheme = _SCHEME.match(value)
        if scheme is None or scheme.group(1).lower() not in ("redis", "rediss", "unix"):
            raise ValueError("not a Redis URL; use redis://[:PASSWORD@]HOST:PORT/DB")
        return value

    @field_validator("webhook_token")
    @classmethod
    def _webhook_token_long_enough(cls, value: SecretStr) -> SecretStr:
        length = len(value.get_secret_value())
        if 0 < length < MIN_WEBHOOK_TOKEN_CHARS:
            raise ValueError(
                f"is {length} characters, use at least {MIN_WEBHOOK_TOKEN_CHARS}; "
                f"make one with: {MAKE_TOKEN}"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in ("database_url", "redis_url") and isinstance(value, str):
                yield name, mask_url(value)
            else:
                yield name, value

    def log_secrets(self) -> list[str]:
        """Every secret value set, for ``dialer.logs.configure_logging`` to mask."""
        values = [
            self.webhook_token.get_secret_value(),
            self.mtt_password.get_secret_value(),
            self.msapi_token.get_secret_value(),
            url_password(self.database_url),
            url_password(self.redis_url),
        ]
        return [value for value in values if value]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import)."""
    return Settings()
