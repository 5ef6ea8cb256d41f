from __future__ import annotations

import pytest

from dialer.limits.measure import achieved_rate, peak_in_window


@pytest.mark.parametrize(
    ("timestamps", "window", "peak"),
    [
        ([], 1.0, 0),
        ([5.0], 1.0, 1),
        ([0.0, 1.0], 1.0, 2),  # the window is closed at both ends
        ([0.0, 1.001], 1.0, 1),
        ([0.0, 0.5, 0.9, 1.2, 1.4, 1.8], 1.0, 4),
        ([1.4, 0.0, 1.2, 0.5], 1.0, 3),  # order does not matter
        ([0.0, 0.1, 0.2, 0.3], 0.15, 2),
    ],
)
def test_peak_in_window(timestamps: list[float], window: float, peak: int) -> None:
    assert peak_in_window(timestamps, window) == peak


@pytest.mark.parametrize(
    ("timestamps", "rate"),
    [
        ([], 0.0),
        ([3.0], 0.0),
        ([3.0, 3.0], 0.0),
        ([0.0, 0.1, 0.2, 0.3, 0.4], 10.0),
        ([2.0, 0.0, 1.0], 1.0),
    ],
)
def test_achieved_rate(timestamps: list[float], rate: float) -> None:
    assert achieved_rate(timestamps) == pytest.approx(rate)
