"""The console's forms over HTTP: each refuses a post without the session's CSRF token,
the roles hold on pages as on the API, and the DNC import and a bad upload answer in one
line on the page."""

from __future__ import annotations

import pytest

from dialer.accounts.roles import Role
from tests.web.test_api import USERS, _hidden, _sign_in
from tests.web.world import World

FORMS = [
    ("/campaigns/new", {"campaign_file": 'name = "x"'}, None),
    ("/campaigns/payment-reminder/control/pause", {}, None),
    ("/campaigns/payment-reminder/upload", {}, ("a.csv", b"phone\n79161234567\n")),
    ("/dnc", {"numbers": "79161234567"}, None),
    ("/dnc/upload", {}, ("dnc.csv", b"79161234567\n")),
    ("/logout", {}, None),
]


@pytest.mark.parametrize(("path", "data", "upload"), FORMS)
def test_every_form_needs_the_csrf_token(
    world: World, path: str, data: dict[str, str], upload: tuple[str, bytes] | None
) -> None:
    world.create()
    _sign_in(world, USERS[Role.MANAGER])
    files = {"file": upload} if upload else None
    answer = world.client.post(
        path, data={**data, "csrf_token": "forged"}, files=files, follow_redirects=False
    )
    assert answer.status_code in (403, 422)
    assert "expired or came from another site" in answer.text
    assert world.client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_an_analyst_sees_campaigns_but_cannot_upload_or_open_the_dnc_list(world: World) -> None:
    world.create()
    _sign_in(world, USERS[Role.ANALYST])
    csrf = _hidden(world.client.get("/").text, "csrf_token")
    page = world.client.get("/campaigns/payment-reminder")
    upload = world.client.post(
        "/campaigns/payment-reminder/upload",
        data={"csrf_token": csrf},
        files={"file": ("a.csv", b"phone\n79161234567\n")},
    )
    assert page.status_code == 200
    assert 'aria-label="Upload"' not in page.text
    assert 'aria-label="Start"' not in page.text
    assert upload.status_code == 403
    assert world.client.get("/dnc").status_code == 403


def test_the_dnc_page_imports_a_file(world: World) -> None:
    _sign_in(world, USERS[Role.MANAGER])
    csrf = _hidden(world.client.get("/dnc").text, "csrf_token")
    answer = world.client.post(
        "/dnc/upload",
        data={"csrf_token": csrf},
        files={"file": ("stop.csv", "телефон\n+7 916 000-00-01\n8 916 000 00 02\n".encode())},
    )
    assert answer.status_code == 200
    assert "Added to the list: 2" in answer.text
    assert "79160000001" in world.client.get("/dnc", params={"q": "0000001"}).text


def test_an_unreadable_upload_is_one_line_naming_the_users_file(world: World) -> None:
    world.create()
    _sign_in(world, USERS[Role.MANAGER])
    csrf = _hidden(world.client.get("/").text, "csrf_token")
    answer = world.client.post(
        "/campaigns/payment-reminder/upload",
        data={"csrf_token": csrf},
        files={"file": ("клиенты.csv", b"name;comment\nAnna;hi\n")},
    )
    assert answer.status_code == 422
    assert "клиенты.csv" in answer.text
    assert "phone" in answer.text
