from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.campaign.config import parse_config
from dialer.policy.retry import decide, spends_budget
from dialer.states import ContactStatus, Outcome

CONFIG = parse_config(
    """
name = "r"
channel = "tts"
[message]
text = "hi"
caller_id = "74950000000"
[schedule]
window = "09:00-21:00"
timezone = "Europe/Moscow"
[retry]
max_attempts = 3
busy = "10m"
no_answer = "30m"
unreachable = "2h"
rejected = "1d"
network = "5m"
unknown = "1h"
"""
)
NOON_MSK = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ZONES = ["Europe/Moscow"]


def run(outcome: Outcome, budget: int = 1, made: int = 1, counts: dict[Outcome, int] | None = None):
    return decide(
        outcome,
        config=CONFIG,
        budget_used=budget,
        attempts_made=made,
        outcome_counts=counts or {outcome: 1},
        zones=ZONES,
        now=NOON_MSK,
    )


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.ANSWERED, ContactStatus.REACHED),
        (Outcome.DELIVERED, ContactStatus.REACHED),
        (Outcome.INVALID_NUMBER, ContactStatus.INVALID),
        (Outcome.OPTED_OUT, ContactStatus.OPTED_OUT),
        (Outcome.PROVIDER_ERROR, ContactStatus.NOT_REACHED),
    ],
)
def test_final_outcomes(outcome: Outcome, status: ContactStatus) -> None:
    decision = run(outcome)
    assert decision.status == status
    assert decision.next_attempt_at is None


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [
        (Outcome.BUSY, timedelta(minutes=10)),
        (Outcome.NO_ANSWER, timedelta(minutes=30)),
        (Outcome.UNREACHABLE, timedelta(hours=2)),
        (Outcome.NETWORK, timedelta(minutes=5)),
        (Outcome.UNKNOWN, timedelta(hours=1)),
        (Outcome.UNDELIVERED, timedelta(hours=1)),
    ],
)
def test_retry_delays(outcome: Outcome, delay: timedelta) -> None:
    decision = run(outcome)
    assert decision.status == ContactStatus.RETRY_WAIT
    assert decision.next_attempt_at == NOON_MSK + delay


def test_budget_runs_out() -> None:
    assert run(Outcome.BUSY, budget=3, made=3).status == ContactStatus.NOT_REACHED
    assert run(Outcome.BUSY, budget=2, made=2).status == ContactStatus.RETRY_WAIT


def test_network_failures_do_not_spend_the_budget_but_are_capped() -> None:
    assert not spends_budget(Outcome.NETWORK)
    assert spends_budget(Outcome.BUSY)
    assert run(Outcome.NETWORK, budget=2, made=6).status == ContactStatus.RETRY_WAIT
    assert run(Outcome.NETWORK, budget=2, made=8).status == ContactStatus.NOT_REACHED


def test_rejected_gets_one_more_try_next_day() -> None:
    first = run(Outcome.REJECTED, counts={Outcome.REJECTED: 1})
    assert first.status == ContactStatus.RETRY_WAIT
    assert first.next_attempt_at == NOON_MSK + timedelta(days=1)
    second = run(Outcome.REJECTED, budget=2, made=2, counts={Outcome.REJECTED: 2})
    assert second.status == ContactStatus.NOT_REACHED


def test_unknown_is_retried_once() -> None:
    assert run(Outcome.UNKNOWN, counts={Outcome.UNKNOWN: 1}).status == ContactStatus.RETRY_WAIT
    twice = run(Outcome.UNKNOWN, budget=2, made=2, counts={Outcome.UNKNOWN: 2})
    assert twice.status == ContactStatus.NOT_REACHED


def test_retry_lands_in_the_next_open_window() -> None:
    evening = datetime(2026, 11, 23, 17, 50, tzinfo=UTC)  # 20:50 MSK; +30m is 21:20, closed
    decision = decide(
        Outcome.NO_ANSWER,
        config=CONFIG,
        budget_used=1,
        attempts_made=1,
        outcome_counts={Outcome.NO_ANSWER: 1},
        zones=ZONES,
        now=evening,
    )
    assert decision.next_attempt_at == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 09:00 MSK


def test_an_agent_miss_spends_no_budget_and_is_retried_after_its_own_delay() -> None:
    assert not spends_budget(Outcome.AGENT_NO_ANSWER)
    # the budget is used up by calls the contact did get; agent misses still retry
    decision = run(Outcome.AGENT_NO_ANSWER, budget=3, made=9, counts={Outcome.AGENT_NO_ANSWER: 6})
    assert decision.status == ContactStatus.RETRY_WAIT
    assert decision.next_attempt_at == NOON_MSK + timedelta(minutes=1)  # retry.agent_no_answer


def test_agent_misses_do_not_count_toward_the_network_cap() -> None:
    decision = run(Outcome.BUSY, budget=1, made=12, counts={Outcome.AGENT_NO_ANSWER: 11})
    assert decision.status == ContactStatus.RETRY_WAIT


def test_a_contact_no_agent_ever_takes_is_given_up_on() -> None:
    decision = run(Outcome.AGENT_NO_ANSWER, budget=0, made=20, counts={Outcome.AGENT_NO_ANSWER: 20})
    assert decision.status == ContactStatus.NOT_REACHED
    assert decision.reason == "no agent took 20 callbacks"


def test_a_connected_callback_reaches_the_contact() -> None:
    assert run(Outcome.CONNECTED).status == ContactStatus.REACHED
