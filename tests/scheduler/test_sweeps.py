"""The scheduler's sweeps on real tables: which attempts each one picks, and what it does.

Every case is one attempt (one contact each: the database allows one live attempt per
contact) with its status and timestamps; the table says whether the sweep takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.scheduler.sweeps import expire_dial_leases, lost_queued_attempts, timed_out_attempts
from tests.support.factories import campaign_toml, fast_retry, make_campaign

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=90)
REQUEUE_AFTER = timedelta(seconds=20)
EVENT_TIMEOUT = timedelta(seconds=30)  # fast_retry's event_timeout


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@dataclass(frozen=True)
class Case:
    name: str
    status: str
    taken: bool
    dialing_at: datetime | None = None
    submitted_at: datetime | None = None
    enqueued_at: datetime | None = None
    not_before: datetime | None = None


def make_attempts(engine: Engine, cases: list[Case]) -> dict[str, int]:
    """One contact and one attempt per case; returns attempt ids by case name."""
    campaign_id = make_campaign(engine, parse_config(campaign_toml() + fast_retry()))
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        for index, case in enumerate(cases):
            phone = f"7916123{index:04d}"
            contact = Contact(
                campaign_id=campaign_id,
                phone=phone,
                timezone="Europe/Moscow",
                status="in_progress",
                attempts=1,
            )
            session.add(contact)
            session.flush()
            attempt = Attempt(
                campaign_id=campaign_id,
                contact_id=contact.id or 0,
                channel="tts",
                status=case.status,
                number=phone,
                dialing_at=case.dialing_at,
                submitted_at=case.submitted_at,
                enqueued_at=case.enqueued_at,
                not_before=case.not_before,
            )
            session.add(attempt)
            session.flush()
            ids[case.name] = attempt.id or 0
    return ids


LEASE_CASES = [
    Case("dialing past the lease", "dialing", True, dialing_at=ago(91)),
    Case("dialing inside the lease", "dialing", False, dialing_at=ago(89)),
    Case("submitted long ago", "submitted", False, dialing_at=ago(500), submitted_at=ago(499)),
    Case("queued long ago", "queued", False, enqueued_at=ago(500)),
]


def test_expire_dial_leases_turns_only_expired_dialing_attempts_unknown(engine: Engine) -> None:
    ids = make_attempts(engine, LEASE_CASES)
    with session_scope(engine) as session:
        expired = expire_dial_leases(session, NOW, LEASE)
    assert expired == sum(case.taken for case in LEASE_CASES)
    with Session(engine) as session:
        attempts = {a.id: a for a in session.exec(select(Attempt))}
    for case in LEASE_CASES:
        attempt = attempts[ids[case.name]]
        if case.taken:
            assert (attempt.status, attempt.error) == ("unknown", "worker lease expired"), case
            assert attempt.updated_at == NOW, case
        else:
            assert attempt.status == case.status, case


REQUEUE_CASES = [
    Case("message overdue", "queued", True, enqueued_at=ago(21)),
    Case("message recent", "queued", False, enqueued_at=ago(19)),
    Case("overdue, backoff over", "queued", True, enqueued_at=ago(60), not_before=ago(1)),
    Case("overdue, still backing off", "queued", False, enqueued_at=ago(60), not_before=ago(-5)),
    Case("dialing, old message", "dialing", False, enqueued_at=ago(60), dialing_at=ago(30)),
]


def test_lost_queued_attempts_are_the_overdue_due_ones(engine: Engine) -> None:
    ids = make_attempts(engine, REQUEUE_CASES)
    with Session(engine) as session:
        lost = {a.id for a in lost_queued_attempts(session, NOW, REQUEUE_AFTER)}
    assert lost == {ids[case.name] for case in REQUEUE_CASES if case.taken}


def test_lost_queued_attempts_respects_its_limit_oldest_id_first(engine: Engine) -> None:
    cases = [Case(f"lost {i}", "queued", True, enqueued_at=ago(60)) for i in range(5)]
    ids = make_attempts(engine, cases)
    with Session(engine) as session:
        lost = [a.id for a in lost_queued_attempts(session, NOW, REQUEUE_AFTER, limit=3)]
    assert lost == sorted(ids.values())[:3]


TIMEOUT_CASES = [
    Case("submitted past timeout", "submitted", True, dialing_at=ago(40), submitted_at=ago(31)),
    Case("submitted inside timeout", "submitted", False, dialing_at=ago(40), submitted_at=ago(29)),
    # No submitted_at (the answer was lost): the dial time counts.
    Case("unknown past timeout", "unknown", True, dialing_at=ago(31)),
    Case("unknown inside timeout", "unknown", False, dialing_at=ago(29)),
    Case("dialing is the lease's job", "dialing", False, dialing_at=ago(300)),
    Case("completed long ago", "completed", False, dialing_at=ago(300), submitted_at=ago(299)),
]


@pytest.mark.parametrize("lock", [True, False])
def test_timed_out_attempts_uses_the_campaigns_event_timeout(engine: Engine, lock: bool) -> None:
    ids = make_attempts(engine, TIMEOUT_CASES)
    with Session(engine) as session:
        stale = {a.id for a in timed_out_attempts(session, NOW, lock=lock)}
    assert stale == {ids[case.name] for case in TIMEOUT_CASES if case.taken}
