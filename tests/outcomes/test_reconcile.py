from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.outcomes.reconcile import Candidate, Reconciled, match_history
from dialer.providers.telecom_records import CallRecord

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def record(number: str, minutes: float, cause: int | None = 16, used: int = 30) -> CallRecord:
    return CallRecord(
        cld=number,
        connect_time=T0 + timedelta(minutes=minutes),
        disconnect_cause=cause,
        used_quantity=used,
    )


def test_matches_by_number_and_time() -> None:
    candidates = [Candidate(1, "79160000001", T0), Candidate(2, "79160000002", T0)]
    records = [record("79160000002", 0.5, 17, 0), record("79160000001", 0.2)]
    assert match_history(candidates, records) == {1: Reconciled(16, 30), 2: Reconciled(17, 0)}


def test_a_record_before_the_dial_or_without_cause_is_not_ours() -> None:
    candidates = [Candidate(1, "79160000001", T0)]
    assert match_history(candidates, [record("79160000001", -5)]) == {}
    assert match_history(candidates, [record("79160000001", 1, cause=None)]) == {}
    assert match_history(candidates, [record("79160000009", 1)]) == {}


def test_each_record_settles_one_attempt_earliest_first() -> None:
    first = Candidate(1, "79160000001", T0)
    retry = Candidate(2, "79160000001", T0 + timedelta(minutes=10))
    records = [record("79160000001", 10.1, 17, 0), record("79160000001", 0.1, 19, 0)]
    assert match_history([retry, first], records) == {1: Reconciled(19, 0), 2: Reconciled(17, 0)}
    assert match_history([first, retry], records[1:]) == {1: Reconciled(19, 0)}
