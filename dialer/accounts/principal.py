"""Who is asking: a signed-in user or an API token, and their role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dialer.accounts.roles import Role


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    kind: Literal["user", "token"]
    user_id: int | None = None
    """The ``users.id`` of a user; None for a token."""
