from __future__ import annotations

import pytest

from dialer.accounts.roles import Role, allows, parse_role
from dialer.errors import UserError

A, M, N = Role.ADMIN, Role.MANAGER, Role.ANALYST


@pytest.mark.parametrize(
    ("role", "need", "allowed"),
    [
        (A, A, True),
        (A, M, True),
        (A, N, True),
        (M, A, False),
        (M, M, True),
        (M, N, True),
        (N, A, False),
        (N, M, False),
        (N, N, True),
    ],
)
def test_allows(role: Role, need: Role, allowed: bool) -> None:
    assert allows(role, need) is allowed


@pytest.mark.parametrize(("text", "role"), [("admin", A), ("manager", M), ("analyst", N)])
def test_parse_role(text: str, role: Role) -> None:
    assert parse_role(text) is role


@pytest.mark.parametrize("text", ["", "Admin", "root", " admin"])
def test_parse_role_refuses_other_words(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_role(text)
    assert str(caught.value) == f"unknown role {text!r}; use admin, manager or analyst"
