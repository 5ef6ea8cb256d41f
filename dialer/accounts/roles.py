"""Roles, from most to least powerful: admin, manager, analyst."""

from __future__ import annotations

from enum import StrEnum

from dialer.errors import UserError


class Role(StrEnum):
    ADMIN = "admin"
    """Everything, including users and tokens."""
    MANAGER = "manager"
    """Runs campaigns: create, load, start, pause, DNC."""
    ANALYST = "analyst"
    """Reads: status, reports, exports."""


_RANK = {Role.ANALYST: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def allows(role: Role, need: Role) -> bool:
    """Whether ``role`` may do what needs ``need``: each role includes the ones below it."""
    return _RANK[role] >= _RANK[need]


def parse_role(text: str) -> Role:
    """The role named ``text``; ``UserError`` for any other word."""
    try:
        return Role(text)
    except ValueError:
        raise UserError(f"unknown role {text!r}; use admin, manager or analyst") from None
