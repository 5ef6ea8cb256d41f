"""``dialer user`` and ``dialer token`` as an operator uses them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialer.accounts.tokens import principal_for_token
from dialer.accounts.users import authenticate
from dialer.cli.main import cli
from dialer.db.engine import make_engine, session_scope
from dialer.settings import get_settings

Invoke = Callable[..., Result]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def invoke(db_url: str) -> Invoke:
    """Runs ``dialer ARGS`` in this process on the test's database (settings are read once
    per process, so the cache is cleared around each run)."""

    def run(*args: str, input: str | None = None) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(
                cli, list(args), input=input, env={"DIALER_DATABASE_URL": db_url}
            )
        finally:
            get_settings.cache_clear()

    return run


def one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def last_json(result: Result) -> dict[str, object]:
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_user_add_with_password_stdin(invoke: Invoke, db_url: str) -> None:
    result = invoke(
        "user", "add", "alice", "--role", "manager", "--password-stdin", input="s3cret-enough\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "user 'alice' added (manager)"
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        user = authenticate(session, "alice", "s3cret-enough")
        assert user is not None
        assert user.role == "manager"
    engine.dispose()


def test_user_add_prompts_twice(invoke: Invoke) -> None:
    result = invoke(
        "user", "add", "alice", "--role", "admin", input="s3cret-enough\ns3cret-enough\n"
    )
    assert result.exit_code == 0, result.output
    assert "s3cret-enough" not in result.output
    assert result.stdout.strip().splitlines()[-1] == "user 'alice' added (admin)"


def test_user_add_duplicate_is_one_line(invoke: Invoke) -> None:
    invoke("user", "add", "alice", "--role", "admin", "--password-stdin", input="s3cret-enough\n")
    result = invoke(
        "user", "add", "alice", "--role", "admin", "--password-stdin", input="s3cret-enough\n"
    )
    one_line_error(result, "user 'alice' already exists")


def test_short_password_is_one_line(invoke: Invoke) -> None:
    result = invoke("user", "add", "alice", "--role", "admin", "--password-stdin", input="short\n")
    one_line_error(result, "password too short: use at least 8 characters")


def test_unknown_role_is_refused(invoke: Invoke) -> None:
    result = invoke(
        "user", "add", "alice", "--role", "root", "--password-stdin", input="s3cret-enough\n"
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_user_list_disable_enable_password(invoke: Invoke) -> None:
    invoke("user", "add", "bob", "--role", "analyst", "--password-stdin", input="s3cret-enough\n")
    assert invoke("user", "disable", "bob").exit_code == 0
    users = last_json(invoke("user", "list", "--json"))["users"]
    assert isinstance(users, list)
    assert [(u["name"], u["role"], u["status"]) for u in users] == [("bob", "analyst", "disabled")]
    assert "password_hash" not in users[0]
    assert invoke("user", "enable", "bob").exit_code == 0
    human = invoke("user", "list")
    assert human.stdout.startswith("bob\tanalyst\tactive\t")
    changed = invoke("user", "password", "bob", "--password-stdin", input="another-one\n")
    assert changed.exit_code == 0, changed.output
    one_line_error(invoke("user", "disable", "ghost"), "no user 'ghost'")


def test_token_create_prints_a_working_token(invoke: Invoke, db_url: str) -> None:
    result = invoke("token", "create", "ci", "--role", "analyst")
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("dlr_")
    assert "not be shown again" in result.stderr
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        principal = principal_for_token(session, plaintext)
        assert principal is not None
        assert (principal.name, principal.role, principal.kind) == ("ci", "analyst", "token")
    engine.dispose()


def test_token_revoke_and_list(invoke: Invoke, db_url: str) -> None:
    created = last_json(invoke("token", "create", "ci", "--role", "admin", "--json"))
    plaintext = created["token"]
    assert isinstance(plaintext, str)
    one_line_error(invoke("token", "create", "ci", "--role", "admin"), "token 'ci' already exists")

    listed = invoke("token", "list", "--json")
    assert plaintext not in listed.stdout
    tokens = last_json(listed)["tokens"]
    assert isinstance(tokens, list)
    assert [(t["name"], t["role"], t["status"]) for t in tokens] == [("ci", "admin", "active")]
    assert not any("hash" in key for key in tokens[0])

    assert invoke("token", "revoke", "ci").exit_code == 0
    one_line_error(invoke("token", "revoke", "ci"), "no active token 'ci'")
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        assert principal_for_token(session, plaintext) is None
    engine.dispose()
    tokens = last_json(invoke("token", "list", "--json"))["tokens"]
    assert isinstance(tokens, list)
    assert tokens[0]["status"] == "revoked"
