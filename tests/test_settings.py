"""Settings: refused values say what to write instead; the URLs' passwords never show."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialer.settings import Settings, describe_settings_error

PASSWORD = "pg-s3cret-pw"


def _error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    return describe_settings_error(caught.value)


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        ({"webhook_token": "short"}, ["DIALER_WEBHOOK_TOKEN", "at least 16", "token_urlsafe"]),
        ({"webhook_token": "x" * 15}, ["DIALER_WEBHOOK_TOKEN", "15 characters"]),
        ({"log_level": "loud"}, ["DIALER_LOG_LEVEL", "'loud'", "DEBUG, INFO, WARNING"]),
        ({"database_url": "mysql://x"}, ["DIALER_DATABASE_URL", "'mysql' is not supported"]),
        ({"database_url": "sqlite://dialer.db"}, ["three slashes: sqlite:///dialer.db"]),
        ({"database_url": "dialer.db"}, ["DIALER_DATABASE_URL", "not a database URL"]),
        ({"database_url": "postgresql+psycopg2://u@h/d"}, ["driver", "not installed"]),
        ({"redis_url": "localhost:6379"}, ["DIALER_REDIS_URL", "redis://"]),
        ({"min_balance": "abc"}, ["DIALER_MIN_BALANCE", "'abc'", "decimal"]),
    ],
)
def test_refused_settings_name_the_variable(values: dict[str, object], needles: list[str]) -> None:
    message = _error(**values)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


@pytest.mark.parametrize(
    "values",
    [
        {"database_url": f"mysql://user:{PASSWORD}@db/x"},
        {"database_url": f"postgresql+pg8000://user:{PASSWORD}@db/x"},
        {"redis_url": f"http://:{PASSWORD}@redis:6379"},
        {"webhook_token": PASSWORD[:10]},
    ],
)
def test_errors_never_repeat_a_secret(values: dict[str, object]) -> None:
    assert PASSWORD[:10] not in _error(**values)
    # Nor does the ValidationError's own text, wherever it ends up (a log, a traceback).
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    assert PASSWORD[:10] not in str(caught.value)
    assert PASSWORD[:10] not in repr(caught.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {}),
        ({"webhook_token": ""}, {}),  # empty: the collector refuses to start instead
        ({"webhook_token": "x" * 16}, {}),
        ({"log_level": "debug"}, {"log_level": "DEBUG"}),
        ({"log_level": " Warning "}, {"log_level": "WARNING"}),
        ({"database_url": "sqlite://"}, {}),
        ({"database_url": "sqlite:///rel/dialer.db"}, {}),
        ({"database_url": "postgres://u:p@h/d"}, {}),
        ({"database_url": "postgresql+psycopg://u:p@h:5433/d"}, {}),
        ({"redis_url": "rediss://:p@h:6380/1"}, {}),
        ({"redis_url": ""}, {}),
    ],
)
def test_accepted_settings(values: dict[str, object], expected: dict[str, object]) -> None:
    settings = Settings.model_validate(values)
    for name, value in expected.items():
        assert getattr(settings, name) == value


def test_repr_and_str_mask_the_url_passwords() -> None:
    settings = Settings(
        database_url=f"postgresql://dialer:{PASSWORD}@db:5432/dialer",
        redis_url=f"redis://:{PASSWORD}@redis:6379/0",
    )
    for shown in (repr(settings), str(settings)):
        assert PASSWORD not in shown
        assert "postgresql://dialer:***@db:5432/dialer" in shown
        assert "redis://:***@redis:6379/0" in shown
    assert settings.database_url.endswith(f"{PASSWORD}@db:5432/dialer")  # still usable


def test_secret_values_list_every_secret() -> None:
    settings = Settings.model_validate(
        {
            "database_url": f"postgresql://u:{PASSWORD}@db/d",
            "redis_url": "redis://:redis-pw-1@r:6379/0",
            "webhook_token": "w" * 20,
            "mtt_password": "mtt-pw-1",
            "msapi_token": "msapi-tok-1",
        }
    )
    assert set(settings.secret_values()) == {
        PASSWORD,
        "redis-pw-1",
        "w" * 20,
        "mtt-pw-1",
        "msapi-tok-1",
    }
