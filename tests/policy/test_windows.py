from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.campaign.values import WEEKDAYS, Window
from dialer.policy.windows import is_open, next_open

MSK = "Europe/Moscow"  # UTC+3
VLAD = "Asia/Vladivostok"  # UTC+10
ALL_DAYS = list(WEEKDAYS)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "days", "zones", "now", "expected"),
    [
        # Open now (Mon 2026-11-23 12:00 MSK = 09:00 UTC).
        ("09:00-21:00", ALL_DAYS, [MSK], "2026-11-23 09:00", "2026-11-23 09:00"),
        # Before the window: opens at 09:00 MSK = 06:00 UTC.
        ("09:00-21:00", ALL_DAYS, [MSK], "2026-11-23 03:00", "2026-11-23 06:00"),
        # After the window: next morning.
        ("09:00-21:00", ALL_DAYS, [MSK], "2026-11-23 19:00", "2026-11-24 06:00"),
        # Saturday evening, window mon-fri only: Monday morning.
        (
            "09:00-21:00",
            ["mon", "tue", "wed", "thu", "fri"],
            [MSK],
            "2026-11-28 19:00",
            "2026-11-30 06:00",
        ),
        # Crossing midnight: 21:00-02:00 MSK is open at 01:00 MSK (22:00 UTC previous day).
        ("21:00-02:00", ALL_DAYS, [MSK], "2026-11-23 22:00", "2026-11-23 22:00"),
        # Crossing midnight, noon: opens at 21:00 MSK = 18:00 UTC.
        ("21:00-02:00", ALL_DAYS, [MSK], "2026-11-23 09:00", "2026-11-23 18:00"),
        # Crossing midnight belongs to the start day: Fri 21:00 - Sat 02:00 with days=[fri].
        ("21:00-02:00", ["fri"], [MSK], "2026-11-27 22:30", "2026-11-27 22:30"),
        # The contact's own zone: 09:00 in Vladivostok is 23:00 UTC the day before.
        ("09:00-21:00", ALL_DAYS, [VLAD], "2026-11-23 12:00", "2026-11-23 23:00"),
    ],
)
def test_next_open(window: str, days: list[str], zones: list[str], now: str, expected: str) -> None:
    assert next_open(Window.parse(window), days, zones, utc(now)) == utc(expected)


def test_strict_mode_needs_the_window_open_in_every_zone() -> None:
    window = Window.parse("09:00-21:00")
    now = utc("2026-11-23 09:00")  # 12:00 MSK, 19:00 Vladivostok
    assert is_open(window, ALL_DAYS, [MSK, VLAD], now)  # only the first zone counts
    assert is_open(window, ALL_DAYS, [MSK, VLAD], now, strict=True)  # 19:00 VLAD is open
    later = utc("2026-11-23 12:00")  # 15:00 MSK, 22:00 Vladivostok
    assert is_open(window, ALL_DAYS, [MSK, VLAD], later)
    assert not is_open(window, ALL_DAYS, [MSK, VLAD], later, strict=True)
    # Both open again when Moscow opens (06:00 UTC: 09:00 MSK, 16:00 VLAD).
    assert next_open(window, ALL_DAYS, [MSK, VLAD], later, strict=True) == utc("2026-11-24 06:00")


def test_strict_zones_that_never_overlap() -> None:
    window = Window.parse("09:00-10:00")
    assert next_open(window, ALL_DAYS, [MSK, VLAD], utc("2026-11-23 00:00"), strict=True) is None


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_open(Window.parse("09:00-21:00"), ALL_DAYS, [MSK], datetime(2026, 1, 1))  # noqa: DTZ001
