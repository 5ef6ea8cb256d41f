"""Console users (admin only): list, add, disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from dialer.accounts.roles import Role
from dialer.accounts.users import add_user, disable_user, list_users
from dialer.db.engine import session_scope
from dialer.web.auth import Caller, admin, engine_of

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    password: str = Field(min_length=1, max_length=1000)


def _user_json(user: Any) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "active": user.disabled_at is None,
        "created_at": user.created_at.isoformat(),
    }


@router.get("/users")
def users(request: Request, caller: Annotated[Caller, Depends(admin)]) -> list[dict[str, Any]]:
    with session_scope(engine_of(request)) as session:
        return [_user_json(user) for user in list_users(session)]


@router.post("/users", status_code=201)
def create_user(
    body: NewUser, request: Request, caller: Annotated[Caller, Depends(admin)]
) -> dict[str, Any]:
    with session_scope(engine_of(request)) as session:
        return _user_json(add_user(session, body.name, body.role, body.password))


@router.post("/users/{name}/disable")
def disable(
    name: str, request: Request, caller: Annotated[Caller, Depends(admin)]
) -> dict[str, Any]:
    with session_scope(engine_of(request)) as session:
        return _user_json(disable_user(session, name))
