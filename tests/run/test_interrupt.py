"""Stopping a real ``dialer run --sandbox`` from outside: Ctrl-C, and ``campaign cancel`` from
another terminal. Each leaves every contact in a state ``status`` explains, spends no attempt
the provider never saw, and prints one line (no traceback)."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import make_engine
from dialer.db.models import Attempt, Campaign, Contact
from dialer.states import FINAL_CONTACT_STATUSES
from tests.support.factories import campaign_toml, write_csv
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow]

CONTACTS = 16
CAMPAIGN = campaign_toml(name="stoppable", text="Привет {name}") + (
    "\n[limits]\nrps = 2\nmax_concurrent = 30\n"
)


class Run:
    """One ``dialer run`` in a directory of its own, and a view of its SQLite database."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = directory / "stoppable.toml"
        self.config.write_text(CAMPAIGN, encoding="utf-8")
        rows = "".join(f"n{i},7916{i:07d}\n" for i in range(1, CONTACTS + 1))
        self.csv = write_csv(directory / "contacts.csv", "name,phone\n" + rows)
        self.url = f"sqlite:///{directory / 'dialer.db'}"
        self.env = {"DIALER_DATABASE_URL": self.url, "DIALER_LOG_LEVEL": "WARNING"}
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def dialer(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dialer", *args]

    def start(self) -> subprocess.Popen[str]:
        # A shell runs background jobs with SIGINT ignored; a terminal's Ctrl-C needs it on.
        return subprocess.Popen(
            self.dialer("run", str(self.config), str(self.csv), "--sandbox"),
            cwd=self.directory,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def environment(self) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
        return env | self.env | {"COLUMNS": "200"}

    def attempts(self) -> list[Attempt]:
        with Session(self.engine) as session:
            return list(session.exec(select(Attempt)).all())

    def contacts(self) -> list[Contact]:
        with Session(self.engine) as session:
            return list(session.exec(select(Contact)).all())

    def campaign(self) -> Campaign:
        with Session(self.engine) as session:
            return session.exec(select(Campaign)).one()

    def wait_mid_flight(self) -> None:
        """Until some calls went out and more claimed dials wait for their rate token."""

        def mid_flight() -> bool:
            try:
                rows = self.attempts()
            except Exception:  # the schema is not there yet
                return False
            sent = sum(a.provider_id is not None for a in rows)
            return sent >= 2 and sum(a.status == "dialing" for a in rows) >= 1

        wait_until(mid_flight, "calls in flight", timeout=60, interval=0.05)

    def assert_nothing_unseen_spent(self) -> None:
        for attempt in self.attempts():
            assert attempt.status != "dialing", attempt
            if attempt.provider_id is None:  # the provider never saw it
                assert attempt.status in ("queued", "cancelled"), attempt
                assert attempt.outcome is None
            if attempt.status == "cancelled":
                assert attempt.counts_budget is False


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    run = Run(tmp_path)
    yield run
    if run._engine is not None:
        run._engine.dispose()


def one_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "client has been closed" not in stderr


@pytest.mark.timeout(180)
def test_ctrl_c_pauses_cleanly_and_the_same_command_resumes_promptly(run: Run) -> None:
    process = run.start()
    run.wait_mid_flight()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    one_line(stderr)
    assert "paused 'stoppable' (interrupted); run the same command again to resume" in stderr
    campaign = run.campaign()
    assert campaign.state == "paused"
    assert (campaign.state_reason or "").startswith("paused by user")
    run.assert_nothing_unseen_spent()
    for contact in run.contacts():
        # Waiting for the resume, or final; none stranded in_progress.
        assert contact.status in FINAL_CONTACT_STATUSES | {"pending", "retry_wait"}, contact

    started = time.monotonic()
    again = run.start()
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    one_line(stderr)
    assert time.monotonic() - started < 75  # no 90 s wait for stranded dial leases
    assert all(c.status in FINAL_CONTACT_STATUSES for c in run.contacts())
    run.assert_nothing_unseen_spent()


@pytest.mark.timeout(180)
def test_campaign_cancel_from_another_terminal_ends_every_contact(run: Run) -> None:
    process = run.start()
    run.wait_mid_flight()
    cancel = subprocess.run(
        run.dialer("campaign", "cancel", "stoppable"),
        env=run.environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert cancel.returncode == 0, cancel.stderr
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 3, stderr
    one_line(stderr)
    assert "campaign 'stoppable' cancelled: cancelled by user" in stderr
    contacts = run.contacts()
    assert all(c.status in FINAL_CONTACT_STATUSES for c in contacts), [
        (c.status, c.reason) for c in contacts
    ]
    assert any(c.status == "cancelled" for c in contacts)
    assert not [a for a in run.attempts() if a.status in ("queued", "dialing", "submitted")]
    run.assert_nothing_unseen_spent()
    with (run.directory / "stoppable-results.csv").open(encoding="utf-8") as handle:
        statuses = {row["status"] for row in csv.DictReader(handle)}
    assert "in_progress" not in statuses
    assert (run.directory / "stoppable-results-report.html").is_file()


@pytest.mark.timeout(120)
def test_campaign_pause_from_another_terminal_says_who_paused(run: Run) -> None:
    process = run.start()
    run.wait_mid_flight()
    pause = subprocess.run(
        run.dialer("campaign", "pause", "stoppable"),
        env=run.environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert pause.returncode == 0, pause.stderr
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr  # a user's pause (was 2, "provider paused")
    one_line(stderr)
    last = " ".join(stderr.strip().splitlines()[-1].split())
    assert last == "campaign 'stoppable' paused by user; run the same command again to resume"
    run.assert_nothing_unseen_spent()
    assert not [c for c in run.contacts() if c.status == "in_progress"]
