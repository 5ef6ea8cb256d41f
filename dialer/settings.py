"""Process settings, read from ``DIALER_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dialer.errors import ConfigError

MIN_WEBHOOK_TOKEN_CHARS = 16
MIN_SECRET_KEY_CHARS = 32
MIN_SECRET_CHARS = {"webhook_token": MIN_WEBHOOK_TOKEN_CHARS, "secret_key": MIN_SECRET_KEY_CHARS}
"""A shorter webhook token can be guessed: the settings refuse it."""
MAKE_TOKEN = 'python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
URL_FIELDS = ("database_url", "redis_url")
"""Plain ``str`` settings that may carry a password: shown with it masked, everywhere."""
_DATABASE_BACKENDS = {"sqlite": ("", "pysqlite"), "postgresql": ("", "psycopg")}
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    """Everything a dialer process needs to know about its environment.

    Secrets are ``SecretStr`` so they never leak through ``repr`` or logs; the two URLs stay
    ``str`` (every engine and client takes them so) but ``repr`` shows them with the password
    masked (``safe_url``), and no validation error repeats them.
    """

    model_config = SettingsConfigDict(
        env_prefix="DIALER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A ValidationError's text would otherwise repeat the value: a URL's password, a
        # too-short webhook token, wherever that text ends up (a log line, a traceback).
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite:///dialer.db"
    redis_url: str | None = None
    """Unset means the embedded, in-process broker (``dialer run``)."""

    public_url: str | None = None
    """How MTT reaches the collector, e.g. ``https://dialer.example.ru``."""
    webhook_token: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    """Seals the OAuth tokens stored in the database (at least 32 characters)."""

    mtt_sb_url: str = "https://sb-api.mtt.ru/v1/sb"
    mtt_login: str = ""
    mtt_password: SecretStr = SecretStr("")
    mtt_sip_id: str = ""
    mtt_informer_method: str = ""
    """The informer method name MTT assigns at activation (the docs only show a placeholder)."""
    mtt_api_url: str = "https://webapicommon.mtt.ru/index.php"
    mtt_customer_name: str = ""
    """Personal account (лицевой счёт) for getCustomerBalance / getServiceHistoryByCustomer."""
    mtt_callback_customer_name: str = ""
    """The CallBack account (``customer_name`` of ``makeCallBackCallFollowme``), issued by MTT
    apart from the balance account ``mtt_customer_name``."""
    uis_api_url: str = "https://callapi.uiscom.ru/v4.0"
    """UIS Call API (JSON-RPC 2.0); CoMagic accounts use ``https://callapi.comagic.ru/v4.0``."""
    uis_access_token: SecretStr = SecretStr("")
    """A permanent Call API key (the user's "Доступ по ключу"); used instead of a login."""
    uis_login: str = ""
    """A UIS user with Call API access: its session key comes from ``login.user``."""
    uis_password: SecretStr = SecretStr("")

    mtt_business_oauth_url: str = "https://oauth.mtt.ru"
    """MTT Business OAuth 2.0 host (``/oauth/authorize``, ``/oauth/token`` are appended)."""
    mtt_business_api_url: str = ""
    """Base of the MTT Business Open API methods (``<url>/makeCall``); the doc does not print
    it: take it from MTT."""
    mtt_business_client_id: str = ""
    """The integration's "Id клиента" from MTT Business's cabinet (also the rate-limit key)."""
    mtt_business_client_secret: SecretStr = SecretStr("")
    """The integration's "Секретный ключ"."""
    mtt_business_redirect_uri: str | None = None
    """The integration's Redirect URI, where MTT also posts notifications; unset means
    ``DIALER_PUBLIC_URL/hooks/<webhook token>/mtt-business``."""

    bitrix24_webhook_url: SecretStr = SecretStr("")
    """Bitrix24 inbound REST webhook, ``https://<portal>/rest/<user id>/<code>/``: the code
    in it is a secret (it calls the portal's REST API as that user), so the whole URL is."""
    bitrix24_application_token: SecretStr = SecretStr("")
    """The token Bitrix24 shows for the outbound webhook that sends us the
    ``OnVoximplantCall*`` events; every event's ``auth[application_token]`` must equal it."""
    bitrix24_voice: str = ""
    """``VOICE`` of ``voximplant.callback.start`` (e.g. ``ruinternalfemale``); empty: the
    portal's default voice for its language."""

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
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    """Seconds a webhook body may take to arrive in full (slower: 408, nothing stored)."""
    max_body_reads: int = Field(default=64, gt=0)
    """Slow webhook bodies (still arriving after half a second) the collector reads at once;
    past it a slow request is answered 503 at once (MTT delivers it again), so slow senders
    cannot hold every connection. Bodies that arrive at once never count against it."""

    max_upload_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    """Largest contacts or DNC file the console and API take, in bytes (larger: 413). Uploads
    stream to ``upload_dir``; memory does not grow with them."""
    upload_dir: str = "uploads"
    """Where the console and API keep uploaded files and their rejects files."""
    web_secure_cookies: bool = False
    """Mark the console's session cookie ``Secure`` (set it when the console is behind https)."""

    dial_lease_seconds: float = Field(default=90.0, gt=0)
    """How long an attempt may stay ``dialing`` before its worker is presumed dead (then it
    waits for events as ``unknown``); keep it above the HTTP connect + read timeouts."""
    requeue_after_seconds: float = Field(default=20.0, gt=0)
    """A ``queued`` attempt whose message is this overdue is sent again (the queue lost it)."""

    sandbox: bool = False
    """Running against the built-in simulator: IVR notify URLs may be plain http."""

    log_level: str = "INFO"
    """DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)."""

    @field_validator("database_url")
    @classmethod
    def _database_url_usable(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url_usable(cls, value: str | None) -> str | None:
        if value and not value.startswith(_REDIS_SCHEMES):
            raise ValueError("not a Redis URL: use redis://HOST:6379/0 (or rediss://, unix://)")
        return value

    @field_validator("webhook_token", "secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        minimum = MIN_SECRET_CHARS[str(info.field_name)]
        length = len(value.get_secret_value())
        if 0 < length < minimum:
            raise ValueError(
                f"{length} characters is too short to be secret (at least {minimum}); make "
                f"one with: {MAKE_TOKEN}"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level: use one of {', '.join(LOG_LEVELS)}")
        return level

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in URL_FIELDS and isinstance(value, str):
                yield name, safe_url(value)
            else:
                yield name, value

    def unset(self, *fields: str) -> list[str]:
        """The environment names (``DIALER_MTT_LOGIN``) of those ``fields`` left empty, in
        order: what a pre-flight check asks the user to set."""
        missing: list[str] = []
        for name in fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if not value:
                missing.append(f"DIALER_{name.upper()}")
        return missing

    def secret_values(self) -> tuple[str, ...]:
        """Every secret these settings hold (tokens, passwords, the URLs' passwords): the
        values a log line must never show (``dialer.logs.configure_logging(secrets=...)``)."""
        values = [
            getattr(self, name).get_secret_value()
            for name, info in type(self).model_fields.items()
            if info.annotation is SecretStr
        ]
        for name in URL_FIELDS:
            url = getattr(self, name)
            if url:
                values.append(url_password(url))
        # The whole URL is a secret above; its code alone too, however a log line spells
        # the rest of the URL (httpx lower-cases the host, adds the method name...).
        from dialer.providers.bitrix24_webhook import webhook_code

        values.append(webhook_code(self.bitrix24_webhook_url.get_secret_value()))
        return tuple(value for value in values if value)


def check_database_url(url: str) -> str:
    """``url`` if it names a database the dialer can use (SQLite file, PostgreSQL); raises
    ``ValueError`` saying what to write instead (without repeating the URL's password)."""
    from dialer.db.engine import normalize_url

    example = "sqlite:///dialer.db or postgresql://USER:PASSWORD@HOST:5432/DB"
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        raise ValueError(f"not a database URL: use {example}") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    drivers = _DATABASE_BACKENDS.get(backend)
    if drivers is None:
        raise ValueError(f"{backend!r} is not supported: use {example}")
    if driver not in drivers and parsed.drivername != backend:
        raise ValueError(f"driver {parsed.drivername!r} is not installed: use {example}")
    if backend == "sqlite" and parsed.host:
        path = "/".join(part for part in (parsed.host, parsed.database) if part)
        raise ValueError(f"a SQLite file takes three slashes: sqlite:///{path}")
    return url


def safe_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (for messages, logs and reprs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: show the scheme at most, never the rest
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://<unparseable>" if sep else "<unparseable URL>"


def url_password(url: str) -> str:
    """The password inside ``url``, or ``""``."""
    try:
        return make_url(url).password or ""
    except Exception:
        return ""


def describe_settings_error(exc: ValidationError) -> str:
    """One line for invalid settings, naming each bad ``DIALER_*`` variable; the value is
    repeated only for settings that are not secret."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        field = Settings.model_fields.get(name)
        secret = name in URL_FIELDS or (field is not None and field.annotation is SecretStr)
        given = error.get("input")
        if not secret and isinstance(given, str) and error["type"] != "value_error":
            message = f"{given[:40]!r}: {message[:1].lower()}{message[1:]}"
        problems.append(f"DIALER_{name.upper()}: {message}")
    return "; ".join(problems)


def load_settings() -> Settings:
    """``get_settings()``, with invalid settings raised as a one-line ``ConfigError``."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import)."""
    return Settings()
