from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from dialer.accounts.principal import Principal
from dialer.accounts.roles import Role
from dialer.accounts.tokens import create_token, list_tokens, principal_for_token, revoke_token
from dialer.errors import NotFoundError, UserError
from tests.accounts.conftest import NOW


def test_create_and_use(session: Session) -> None:
    plaintext = create_token(session, "ci", Role.ANALYST, now=NOW)
    assert re.fullmatch(r"dlr_[A-Za-z0-9_-]{43}", plaintext)
    (stored,) = list_tokens(session)
    assert plaintext not in stored.token_hash
    assert len(stored.token_hash) == 64
    assert principal_for_token(session, plaintext, now=NOW) == Principal(
        name="ci", role=Role.ANALYST, kind="token"
    )


@pytest.mark.parametrize("plaintext", ["", "dlr_", "dlr_nope", "Bearer x", "ci"])
def test_unknown_tokens(session: Session, plaintext: str) -> None:
    create_token(session, "ci", Role.ADMIN)
    assert principal_for_token(session, plaintext) is None


def test_last_used_is_written_at_most_once_a_minute(session: Session) -> None:
    plaintext = create_token(session, "ci", Role.ADMIN, now=NOW)
    (token,) = list_tokens(session)
    assert token.last_used_at is None
    principal_for_token(session, plaintext, now=NOW)
    assert token.last_used_at == NOW
    principal_for_token(session, plaintext, now=NOW + timedelta(seconds=59))
    assert token.last_used_at == NOW
    principal_for_token(session, plaintext, now=NOW + timedelta(seconds=60))
    assert token.last_used_at == NOW + timedelta(seconds=60)


def test_revoke(session: Session) -> None:
    plaintext = create_token(session, "ci", Role.MANAGER)
    with pytest.raises(UserError, match=r"^token 'ci' already exists"):
        create_token(session, "ci", Role.MANAGER)
    revoked = revoke_token(session, "ci", now=NOW)
    assert revoked.revoked_at == NOW
    assert principal_for_token(session, plaintext) is None
    with pytest.raises(NotFoundError, match=r"^no active token 'ci'$"):
        revoke_token(session, "ci")
    # The name is free again; the old token stays dead.
    again = create_token(session, "ci", Role.ANALYST)
    assert principal_for_token(session, plaintext) is None
    assert principal_for_token(session, again) is not None
    assert [t.name for t in list_tokens(session)] == ["ci"]


def test_revoke_unknown(session: Session) -> None:
    with pytest.raises(NotFoundError, match=r"^no active token 'ghost'$"):
        revoke_token(session, "ghost")


def test_bad_name(session: Session) -> None:
    with pytest.raises(UserError, match="token name"):
        create_token(session, "has space", Role.ADMIN)
