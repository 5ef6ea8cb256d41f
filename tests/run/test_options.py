"""``dialer run``'s options and refusals: checked before the database is touched or anyone
is dialled, each a one-line error; the sandbox leaves the stored campaign as its file says;
one run per database."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import load_config
from dialer.db.engine import make_engine, session_scope
from dialer.db.models import Campaign, Lease
from dialer.db.schema import ensure_schema
from dialer.db.types import utcnow
from dialer.runner.ending import (
    EXIT_CANCELLED,
    EXIT_DONE,
    EXIT_PROVIDER_PAUSE,
    EXIT_USER_PAUSE,
    report_end,
)
from dialer.states import CampaignState
from tests.support.cli import assert_one_line_error, dialer
from tests.support.factories import campaign_toml, make_campaign, make_config, write_csv

CAMPAIGN = campaign_toml(name="opts", text="Привет {name}") + "\n[limits]\nrps = 50\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "opts.toml"
    config.write_text(CAMPAIGN, encoding="utf-8")
    contacts = write_csv(tmp_path / "c.csv", "name,phone\nAnn,79161230001\nBob,79161230002\n")
    return config, contacts


def db_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'cli.db'}")


def campaign_row(tmp_path: Path) -> Campaign:
    engine = db_engine(tmp_path)
    try:
        with Session(engine) as session:
            return session.exec(select(Campaign)).one()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--sandbox", "--speed", "0"], "--speed must be a number above 0"),
        (["--sandbox", "--speed", "-5"], "--speed must be a number above 0"),
        (["--sandbox", "--speed", "nan"], "--speed must be a number above 0"),
        (["--sandbox", "-o", "nodir/out.csv"], "directory nodir does not exist"),
        (["--sandbox", "-o", "."], "is a directory"),
        ([], "set DIALER_PUBLIC_URL"),
    ],
)
def test_bad_options_fail_in_one_line_before_the_database(
    tmp_path: Path, files: tuple[Path, Path], args: list[str], needle: str
) -> None:
    config, contacts = files
    result = dialer(tmp_path, "run", str(config), str(contacts), *args)
    assert_one_line_error(result, needle)
    assert not (tmp_path / "cli.db").exists()


def test_a_csv_that_loads_nothing_ends_at_once_and_leaves_the_campaign_unstarted(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    config, _ = files
    empty = write_csv(tmp_path / "empty.csv", "name,phone\n")
    result = dialer(tmp_path, "run", str(config), str(empty), "--sandbox")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("dialer: error: nothing to dial")
    assert campaign_row(tmp_path).state == "draft"


def test_a_sandbox_run_keeps_the_campaign_as_its_file_says(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    config, contacts = files
    first = dialer(tmp_path, "run", str(config), str(contacts), "--sandbox", "--speed", "600")
    assert first.returncode == 0, first.stderr
    assert campaign_row(tmp_path).config_json == load_config(config).model_dump_json()
    created = dialer(tmp_path, "campaign", "create", str(config))
    assert created.returncode == 0, created.stderr
    assert "already registered" in created.stdout
    other_speed = dialer(tmp_path, "run", str(config), str(contacts), "--sandbox", "--speed", "300")
    assert other_speed.returncode == 0, other_speed.stderr


def test_a_second_run_on_the_same_database_is_refused(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    config, contacts = files
    engine = db_engine(tmp_path)
    ensure_schema(engine)
    with session_scope(engine) as session:
        session.add(Lease(name="run", holder="elsewhere:4242", seen_at=utcnow()))
    result = dialer(tmp_path, "run", str(config), str(contacts), "--sandbox")
    assert_one_line_error(result, "another `dialer run` (elsewhere:4242")
    with session_scope(engine) as session:  # a run killed 60 s ago holds nothing
        lease = session.get(Lease, "run")
        assert lease is not None
        lease.seen_at = utcnow() - timedelta(seconds=60)
        session.add(lease)
    empty = write_csv(tmp_path / "empty.csv", "name,phone\n")
    result = dialer(tmp_path, "run", str(config), str(empty), "--sandbox")
    assert "nothing to dial" in result.stderr  # got past the lease
    engine.dispose()


def test_against_mtt_it_listens_where_asked_and_says_where_mtt_must_post(
    tmp_path: Path, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, contacts = files
    monkeypatch.setenv("DIALER_PUBLIC_URL", "https://dialer.example.com")
    monkeypatch.setenv("DIALER_WEBHOOK_TOKEN", "a-long-enough-webhook-token")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = dialer(tmp_path, "run", str(config), str(contacts), "--port", str(port))
        assert result.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
        assert "Traceback" not in result.stderr
    # Free now: it listens, tells where MTT must post, then stops at the MTT pre-flight
    # (no credentials in this test).
    result = dialer(tmp_path, "run", str(config), str(contacts), "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    flat = " ".join(result.stderr.split())
    assert (
        "MTT posts events to https://dialer.example.com/hooks/***/mtt/call "
        f"(SMS: /mtt/sms, IVR choices: /mtt/ivr); serve it from 127.0.0.1:{port} "
        "behind your reverse proxy"
    ) in flat
    assert "a-long-enough-webhook-token" not in result.stderr
    assert "set DIALER_MTT_LOGIN" in flat


@pytest.mark.parametrize("option", ["--processes", "--threads"])
def test_worker_refuses_zero_processes_or_threads(tmp_path: Path, option: str) -> None:
    result = dialer(tmp_path, "worker", option, "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "0 is not in the range x>=1" in result.stderr


def test_campaign_pause_records_who_paused(tmp_path: Path, files: tuple[Path, Path]) -> None:
    config, _ = files
    assert dialer(tmp_path, "campaign", "create", str(config)).returncode == 0
    engine = db_engine(tmp_path)
    with session_scope(engine) as session:
        session.exec(select(Campaign)).one().state = "running"
    engine.dispose()
    assert dialer(tmp_path, "campaign", "pause", "opts").returncode == 0
    assert campaign_row(tmp_path).state_reason == "paused by user"
    status = dialer(tmp_path, "status", "opts")
    assert "paused by user" in status.stdout


@pytest.mark.parametrize(
    ("state", "reason", "code"),
    [
        ("completed", None, EXIT_DONE),
        ("paused", "paused by user", EXIT_USER_PAUSE),  # `campaign pause` elsewhere (was 2)
        ("paused", "paused by user (dialer run interrupted)", EXIT_USER_PAUSE),
        ("paused", "provider refused: access forbidden", EXIT_PROVIDER_PAUSE),
        ("cancelled", "cancelled by user", EXIT_CANCELLED),
    ],
)
def test_exit_codes_say_how_the_campaign_ended(
    sqlite_engine: Engine,
    capsys: pytest.CaptureFixture[str],
    state: str,
    reason: str | None,
    code: int,
) -> None:
    make_campaign(sqlite_engine, make_config(name="ends"))
    with session_scope(sqlite_engine) as session:
        campaign = session.exec(select(Campaign)).one()
        campaign.state, campaign.state_reason = state, reason
    assert report_end(sqlite_engine, "ends", CampaignState(state)) == code
    said = " ".join(capsys.readouterr().err.split())
    assert "None" not in said
    if reason:
        assert reason in said
