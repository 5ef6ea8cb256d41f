"""The one supervisor for long-running loops: log, back off, carry on, stop promptly."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from dialer.supervise import Backoff, describe_error, supervise, supervise_async


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (100, 30.0), (10**6, 30.0)],
)
def test_backoff_doubles_up_to_its_cap(failures: int, seconds: float) -> None:
    assert Backoff(first=0.5, cap=30.0).delay(failures) == seconds


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (RuntimeError(), "RuntimeError"),
        (
            ValueError("no row for 79161234567\n[parameters: ('79161234567',)]"),
            "ValueError: no row for 7916*****67",
        ),
        (KeyError("x" * 500), "KeyError: '" + "x" * 199),
    ],
)
def test_describe_error_is_one_masked_short_line(error: Exception, text: str) -> None:
    assert describe_error(error) == text


class FlakyStep:
    """Raises each of ``errors`` in turn, then succeeds; stops the loop after ``successes``."""

    def __init__(self, errors: list[Exception], stop: threading.Event, successes: int) -> None:
        self.errors = list(errors)
        self.stop = stop
        self.successes_left = successes
        self.calls: list[float] = []

    def __call__(self) -> None:
        self.calls.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        self.successes_left -= 1
        if self.successes_left <= 0:
            self.stop.set()


def test_supervise_logs_each_failure_backs_off_and_resets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = threading.Event()
    step = FlakyStep(
        [RuntimeError("one"), RuntimeError("two 79161234567"), RuntimeError("three")],
        stop,
        successes=2,
    )
    with caplog.at_level(logging.INFO, logger="dialer.supervise"):
        supervise("test loop", step, stop, interval=0.0, backoff=Backoff(first=0.02, cap=0.04))

    assert len(step.calls) == 5  # three failures, then two successes
    gaps = [b - a for a, b in zip(step.calls, step.calls[1:], strict=False)]
    assert gaps[0] >= 0.02
    assert gaps[1] >= 0.04
    assert gaps[2] >= 0.04
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "test loop failed (RuntimeError: two 7916*****67)" in warnings[1]
    assert "79161234567" not in caplog.text
    assert any("recovered after 3 failure(s)" in r.getMessage() for r in caplog.records)


def test_supervise_stops_promptly_while_backing_off() -> None:
    stop = threading.Event()

    def always_fails() -> None:
        raise RuntimeError("down")

    thread = threading.Thread(
        target=supervise,
        args=("test loop", always_fails, stop),
        kwargs={"interval": 0.0, "backoff": Backoff(first=60.0, cap=60.0)},
    )
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5


def test_supervise_async_carries_on_until_cancelled() -> None:
    done = asyncio.Event()
    errors: list[Exception] = [RuntimeError("a"), ConnectionError("b")]
    successes = 0

    async def step() -> None:
        nonlocal successes
        if errors:
            raise errors.pop(0)
        successes += 1
        if successes == 2:
            done.set()

    async def main() -> None:
        task = asyncio.create_task(
            supervise_async("refresher", step, interval=0.0, backoff=Backoff(0.01, 0.02))
        )
        await asyncio.wait_for(done.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert successes >= 2
