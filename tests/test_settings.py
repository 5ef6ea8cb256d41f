"""Settings validation (issue 10.5): the webhook token's length, URLs as secrets, log level."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from dialer.settings import Settings, describe_settings_error, mask_url

PASSWORD = "pa55-w0rd-x"


def _error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    return describe_settings_error(caught.value)


@pytest.mark.parametrize(
    ("token", "ok"),
    [("", True), ("a" * 15, False), ("a" * 16, True), ("x" * 32, True)],
)
def test_a_webhook_token_needs_16_characters(token: str, ok: bool) -> None:
    if ok:
        assert Settings(webhook_token=SecretStr(token)).webhook_token.get_secret_value() == token
        return
    message = _error(webhook_token=token)
    assert message.startswith("DIALER_WEBHOOK_TOKEN: is 15 characters, use at least 16")
    assert "secrets.token_urlsafe(24)" in message
    assert token not in message


@pytest.mark.parametrize(
    ("given", "level"),
    [("debug", "DEBUG"), ("Info", "INFO"), ("WARNING", "WARNING"), (" error ", "ERROR")],
)
def test_log_levels_are_case_insensitive(given: str, level: str) -> None:
    assert Settings(log_level=given).log_level == level


@pytest.mark.parametrize("given", ["loud", "", "WARN", "10"])
def test_an_unknown_log_level_is_refused(given: str) -> None:
    assert _error(log_level=given).startswith("DIALER_LOG_LEVEL: unknown log level; use one of")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://x", "unsupported database 'mysql'"),
        ("sqlite://dialer.db", "a file is sqlite:///dialer.db"),
        ("dialer.db", "not a database URL"),
        (f"mysql://u:{PASSWORD}@h/db", "unsupported database"),
        ("postgresql+psycopg2://u@h/db", "unsupported database"),
    ],
)
def test_unusable_database_urls_are_refused(url: str, needle: str) -> None:
    message = _error(database_url=url)
    assert message.startswith("DIALER_DATABASE_URL: ")
    assert needle in message
    assert PASSWORD not in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///dialer.db",
        "sqlite:////abs/path.db",
        "sqlite://",
        "postgresql://u:p@h:5432/db",
        "postgres://h/db",
        "postgresql+psycopg://h/db",
    ],
)
def test_usable_database_urls(url: str) -> None:
    assert Settings(database_url=url).database_url == url


def test_urls_are_masked_in_repr_and_str() -> None:
    settings = Settings(
        database_url=f"postgresql://dialer:{PASSWORD}@db:5432/dialer",
        redis_url=f"redis://:{PASSWORD}@redis:6379/0",
    )
    for text in (repr(settings), str(settings)):
        assert PASSWORD not in text
        assert "postgresql://dialer:***@db:5432/dialer" in text
        assert "redis://:***@redis:6379/0" in text
    assert PASSWORD in settings.log_secrets()


def test_validation_errors_never_show_an_input() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(
            {"database_url": f"mysql://u:{PASSWORD}@h/db", "webhook_token": PASSWORD}
        )
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in describe_settings_error(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("redis://:secret@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
