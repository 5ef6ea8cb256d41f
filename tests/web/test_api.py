"""``/api/v1`` end to end: who may call what, the errors' statuses and lines, and that each
route does what its CLI command does."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.routing import iter_route_contexts

from dialer.accounts.roles import Role, allows
from dialer.campaign.config import parse_config
from dialer.errors import ConfigError
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from tests.loader.test_load import EXCEL_CP1251
from tests.support.factories import campaign_toml
from tests.web.world import API, CAMPAIGNS, PASSWORD, USERS, VICTIM, World, WorldFactory

SMALL_CSV = (
    "name,phone,contract,due\nИван,89161234567,Д-1,25.12\nБорис,позвоните,Д-2,25.12\n"
).encode()
"""One good line, one rejected."""

Call = tuple[str, dict[str, Any]]


def _created(w: World) -> str:
    return w.create()


def _loaded(w: World) -> str:
    name = w.create()
    w.load(name, SMALL_CSV)
    return name


def _upload_id(w: World) -> str:
    name = _created(w)
    return str(w.load(name, SMALL_CSV, preview="true")["upload_id"])


def _with_state(*actions: str) -> Callable[[World], str]:
    def prepare(w: World) -> str:
        name = _loaded(w)
        for action in actions:
            w.control(name, action)
        return name

    return prepare


CSV_BODY = {"content": SMALL_CSV, "headers": {"Content-Type": "text/csv"}}
C = f"{API}/campaigns"
P = f"{C}/payment-reminder"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """As ``app.routes`` names it."""
    role: Role
    """The least role allowed."""
    ok: int
    prepare: Callable[[World], Call]
    """Sets the world up (as admin) and returns the request to make."""


ROUTES = [
    Route("GET", "/campaigns", Role.ANALYST, 200, lambda w: (C, {})),
    Route("POST", "/campaigns", Role.MANAGER, 201, lambda w: (C, {"content": w_toml()})),
    Route("GET", "/campaigns/{name}", Role.ANALYST, 200, lambda w: (f"{C}/{_created(w)}", {})),
    Route(
        "POST",
        "/campaigns/{name}/contacts",
        Role.MANAGER,
        200,
        lambda w: (f"{C}/{_created(w)}/contacts", CSV_BODY),
    ),
    *(
        Route(
            "POST",
            f"/campaigns/{{name}}/{action}",
            Role.MANAGER,
            200,
            lambda w, action=action, before=before: (  # type: ignore[misc]
                f"{C}/{_with_state(*before)(w)}/{action}",
                {},
            ),
        )
        for action, before in (
            ("start", ()),
            ("pause", ("start",)),
            ("resume", ("start", "pause")),
            ("cancel", ()),
        )
    ),
    Route(
        "GET",
        "/campaigns/{name}/events",
        Role.ANALYST,
        200,
        lambda w: (f"{C}/{_with_state('cancel')(w)}/events", {}),
    ),
    Route(
        "GET",
        "/campaigns/{name}/export",
        Role.ANALYST,
        200,
        lambda w: (f"{C}/{_loaded(w)}/export", {}),
    ),
    Route(
        "GET",
        "/campaigns/{name}/report",
        Role.ANALYST,
        200,
        lambda w: (f"{C}/{_loaded(w)}/report", {}),
    ),
    Route(
        "GET",
        "/campaigns/{name}/uploads/{upload_id}/preview",
        Role.MANAGER,
        200,
        lambda w: (f"{P}/uploads/{_upload_id(w)}/preview", {}),
    ),
    Route(
        "POST",
        "/campaigns/{name}/uploads/{upload_id}/load",
        Role.MANAGER,
        200,
        lambda w: (f"{P}/uploads/{_upload_id(w)}/load", {}),
    ),
    Route(
        "GET",
        "/campaigns/{name}/uploads/{upload_id}/rejects",
        Role.MANAGER,
        200,
        lambda w: (f"{P}/uploads/{_upload_id(w)}/rejects", {}),
    ),
    Route("GET", "/dnc", Role.MANAGER, 200, lambda w: (f"{API}/dnc", {})),
    Route(
        "POST",
        "/dnc",
        Role.MANAGER,
        200,
        lambda w: (f"{API}/dnc", {"json": {"numbers": ["89160000001"]}}),
    ),
    Route("POST", "/dnc/import", Role.MANAGER, 200, lambda w: (f"{API}/dnc/import", CSV_BODY)),
    Route("GET", "/users", Role.ADMIN, 200, lambda w: (f"{API}/users", {})),
    Route(
        "POST",
        "/users",
        Role.ADMIN,
        201,
        lambda w: (
            f"{API}/users",
            {"json": {"name": "newbie", "role": "analyst", "password": PASSWORD}},
        ),
    ),
    Route(
        "POST",
        "/users/{name}/disable",
        Role.ADMIN,
        200,
        lambda w: (f"{API}/users/{VICTIM}/disable", {}),
    ),
]


def w_toml() -> str:
    return (CAMPAIGNS / "payment-reminder.toml").read_text(encoding="utf-8")


CALLERS = [None, "revoked", *(role.value for role in Role)]


PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs")}
"""The OpenAPI document and its page: readable without credentials."""


def test_every_api_route_has_a_role_test(world: World) -> None:
    served = {
        (method, str(route.path).removeprefix(API))
        for route in iter_route_contexts(world.client.app.routes)  # type: ignore[attr-defined]
        if str(route.path).startswith(API + "/")
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }
    tested = {(route.method, route.path) for route in ROUTES}
    assert served - PUBLIC == tested
    assert served >= PUBLIC


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "anonymous")
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_route_lets_in_its_roles_only(world: World, route: Route, caller: str | None) -> None:
    url, request = route.prepare(world)

    response = world.call(route.method, url, who=caller, **request)

    if caller in (None, "revoked"):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif not allows(Role(caller), route.role):
        assert response.status_code == 403, response.text
        assert f"needs {route.role.value}" in response.json()["detail"]
    else:
        assert response.status_code == route.ok, response.text


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "request_kw"),
    [
        ("GET", "/campaigns/nope", {}),
        ("POST", "/campaigns/nope/start", {}),
        ("POST", "/campaigns/nope/pause", {}),
        ("GET", "/campaigns/nope/export", {}),
        ("GET", "/campaigns/nope/report", {}),
        ("GET", "/campaigns/nope/events", {}),
        ("POST", "/campaigns/nope/contacts", CSV_BODY),
    ],
)
def test_unknown_campaign_is_404(
    world: World, method: str, path: str, request_kw: dict[str, Any]
) -> None:
    response = world.call(method, API + path, **request_kw)

    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert not world.upload_dir.exists() or not any(world.upload_dir.glob("*.csv"))


@pytest.mark.parametrize(
    ("before", "action", "detail"),
    [
        ((), "resume", "draft"),
        ((), "pause", "draft"),
        (("cancel",), "pause", "cancelled"),
        (("cancel",), "start", "cancelled"),
    ],
)
def test_a_control_the_state_forbids_is_409(
    world: World, before: tuple[str, ...], action: str, detail: str
) -> None:
    name = _with_state(*before)(world)

    response = world.call("POST", f"{C}/{name}/{action}")

    assert response.status_code == 409, response.text
    assert detail in response.json()["detail"]


def test_start_without_contacts_is_409_with_the_preflight_line(world: World) -> None:
    name = world.create()

    response = world.call("POST", f"{C}/{name}/start")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "cannot start 'payment-reminder': no contacts loaded; load some first "
        "(dialer load payment-reminder FILE.csv)"
    )


@pytest.mark.parametrize(
    "text",
    [
        'name = "x"\nchannel = "fax"\n',
        "name = \n",
        w_toml().replace('window = "10:00-20:00"', 'window = "25:00-20:00"'),
        w_toml().replace('purpose = "informational"', 'purpose = "spam"'),
    ],
    ids=["channel", "syntax", "window", "purpose"],
)
def test_a_bad_campaign_file_is_422_with_the_cli_line(world: World, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "campaign file")

    response = world.call("POST", C, content=text)

    assert response.status_code == 422
    assert response.json() == {"detail": str(caught.value)}
    assert world.call("GET", C).json() == []


def test_a_csv_without_a_phone_column_is_422_naming_the_users_file(world: World) -> None:
    name = world.create()

    response = world.call(
        "POST",
        f"{C}/{name}/contacts",
        files={"file": ("people.csv", b"name,city\nAnn,Moscow\n", "text/csv")},
    )

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "people.csv" in detail
    assert "phone" in detail
    assert str(world.upload_dir) not in detail


def test_a_spreadsheet_instead_of_a_csv_is_422(world: World) -> None:
    name = world.create()
    xlsx = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4

    response = world.call(
        "POST", f"{C}/{name}/contacts", files={"file": ("people.xlsx", xlsx, "application/zip")}
    )

    assert response.status_code == 422, response.text
    assert "people.xlsx" in response.json()["detail"]
    assert world.call("GET", f"{C}/{name}").json()["contacts"] == 0


@pytest.mark.parametrize("path", ["/campaigns/payment-reminder/contacts", "/dnc/import"])
@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "raw"])
def test_an_upload_over_the_limit_is_413_and_leaves_no_file(
    make_world: WorldFactory, path: str, multipart: bool
) -> None:
    world = make_world(max_upload_bytes=1000)
    world.create()
    accepted = world.load("payment-reminder", SMALL_CSV, preview="true")
    kept = sorted(p.name for p in world.upload_dir.iterdir())
    body = b"phone\n" + b"89161234567\n" * 416
    assert len(body) > 4990
    request: dict[str, Any] = (
        {"files": {"file": ("big.csv", body, "text/csv")}}
        if multipart
        else {**CSV_BODY, "content": body}
    )

    response = world.call("POST", API + path, **request)

    assert response.status_code == 413, response.text
    assert "1000 bytes" in response.json()["detail"]
    assert sorted(p.name for p in world.upload_dir.iterdir()) == kept
    assert f"{accepted['upload_id']}.json" in kept


def test_a_body_over_a_mebibyte_elsewhere_is_413(world: World) -> None:
    response = world.call("POST", C, content=b"#" * (2 * 1024 * 1024))

    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["detail"]


# --- behaviour ---------------------------------------------------------------------------


def test_creating_is_idempotent_for_the_same_file_and_refused_for_another(world: World) -> None:
    first = world.call("POST", C, content=w_toml())
    again = world.call("POST", C, content=w_toml())
    other = world.call("POST", C, content=w_toml().replace("max_attempts = 3", "max_attempts = 2"))

    assert (first.status_code, first.json()) == (201, {"name": "payment-reminder", "created": True})
    assert (again.status_code, again.json()) == (
        200,
        {"name": "payment-reminder", "created": False},
    )
    assert other.status_code == 409
    assert "payment-reminder" in other.json()["detail"]


COUNTED = ("rows", "loaded", "rejected", "duplicates", "suppressed", "reasons", "encoding")


def test_multipart_and_raw_loads_count_as_the_cli_does(world: World, tmp_path: Path) -> None:
    path = CAMPAIGNS / "payment-reminder.csv"
    for name in ("multipart", "raw", "cli"):
        world.create(name)
    cli = load_contacts(world.engine, "cli", path, rejects_path=tmp_path / "r.csv").as_dict()

    multipart = world.call(
        "POST",
        f"{C}/multipart/contacts",
        files={"file": ("payment-reminder.csv", path.read_bytes(), "text/csv")},
    ).json()
    raw = world.load("raw", path.read_bytes())

    expected = {key: cli[key] for key in COUNTED}
    assert {key: multipart[key] for key in COUNTED} == expected
    assert {key: raw[key] for key in COUNTED} == expected
    assert cli["loaded"] > 0
    assert multipart["file"] == "payment-reminder.csv"
    assert world.call("GET", f"{C}/raw").json()["contacts"] == cli["loaded"]


def test_a_preview_stores_nothing_and_counts_what_the_load_then_does(world: World) -> None:
    name = world.create()
    body = (CAMPAIGNS / "payment-reminder.csv").read_bytes()

    preview = world.load(name, body, preview="true")
    contacts_after_preview = world.call("GET", f"{C}/{name}").json()["contacts"]
    again = world.call("GET", f"{C}/{name}/uploads/{preview['upload_id']}/preview").json()
    loaded = world.call("POST", preview["load_url"]).json()

    assert preview["dry_run"] is True
    assert contacts_after_preview == 0
    assert loaded["dry_run"] is False
    assert {k: again[k] for k in COUNTED} == {k: preview[k] for k in COUNTED}
    assert {k: loaded[k] for k in COUNTED} == {k: preview[k] for k in COUNTED}
    assert world.call("GET", f"{C}/{name}").json()["contacts"] == loaded["loaded"] > 0


def test_the_rejects_url_serves_the_rejected_lines(world: World) -> None:
    name = world.create()
    summary = world.load(name, SMALL_CSV)

    response = world.call("GET", summary["rejects_url"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["line", "value", "reason", "detail"]
    assert [row[:2] for row in rows[1:]] == [["3", "позвоните"]]


def test_the_phone_column_parameter_picks_the_column(world: World) -> None:
    name = world.create()
    body = "name,phone,mobile,contract,due\nИван,89161234567,89261234567,Д-1,25.12\n".encode()

    detected = world.load(name, body, preview="true")
    chosen = world.load(name, body, preview="true", phone_column="mobile")

    assert detected["phone_column"] == "phone"
    assert chosen["phone_column"] == "mobile"
    assert chosen["sample"] != detected["sample"]


def test_a_messy_excel_file_previews_as_cp1251_with_semicolons(world: World) -> None:
    world.call(
        "POST",
        C,
        content=campaign_toml(name="excel", text="Здравствуйте, {ФИО}! Заказ {Номер заказа}."),
    )
    world.call("POST", f"{API}/dnc", json={"numbers": ["79160000001"]})

    preview = world.call(
        "POST",
        f"{C}/excel/contacts",
        params={"preview": "true"},
        files={"file": ("excel.csv", EXCEL_CP1251.encode("cp1251"), "text/csv")},
    ).json()

    assert (preview["encoding"], preview["delimiter"]) == ("cp1251", ";")
    assert preview["phone_column"] == "Телефон"
    counts = (preview["rows"], preview["loaded"], preview["rejected"])
    assert counts == (11, 2, 7)
    assert (preview["duplicates"], preview["suppressed"]) == (1, 1)


def _export_rows(fmt: str, content: bytes) -> list[list[str]]:
    if fmt == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert sheet is not None
        return [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    table = pq.read_table(io.BytesIO(content))
    return [list(table.column_names)] + [
        [str(v) for v in row.values()] for row in table.to_pylist()
    ]


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("parquet", "application/vnd.apache.parquet"),
    ],
)
def test_export_is_the_cli_export_with_a_cursor(
    world: World, tmp_path: Path, fmt: str, media_type: str
) -> None:
    name = world.create()
    world.load(name, (CAMPAIGNS / "payment-reminder.csv").read_bytes())

    response = world.call("GET", f"{C}/{name}/export", params={"format": fmt})
    cli = export_campaign(world.engine, name, tmp_path / f"cli.{fmt}", fmt=fmt, level="contacts")
    later = world.call(
        "GET",
        f"{C}/{name}/export",
        params={"format": fmt, "since": response.headers["X-Dialer-Cursor"]},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["X-Dialer-Cursor"]
    assert int(response.headers["X-Dialer-Rows"]) == cli.rows > 0
    assert _export_rows(fmt, response.content) == _export_rows(
        fmt, (tmp_path / f"cli.{fmt}").read_bytes()
    )
    assert later.headers["X-Dialer-Rows"] == "0"
    assert len(_export_rows(fmt, later.content)) <= 1
    assert not list((world.upload_dir / "exports").iterdir())


def test_the_report_is_html_naming_the_campaign(world: World) -> None:
    name = _loaded(world)

    response = world.call("GET", f"{C}/{name}/report")

    assert response.headers["content-type"].startswith("text/html")
    assert name in response.text


def test_events_of_a_cancelled_campaign_send_its_status_and_end(world: World) -> None:
    name = _with_state("cancel")(world)

    response = world.call("GET", f"{C}/{name}/events")

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry:")
    event = response.text.split("\n\n")[1]
    assert event.startswith("event: status\ndata: ")
    assert '"state": "cancelled"' in event


def test_dnc_numbers_are_normalised_found_and_suppress_loads(world: World) -> None:
    added = world.call(
        "POST", f"{API}/dnc", json={"numbers": ["8 (916) 123-45-67", "+7 926 000 00 04"]}
    )
    found = world.call("GET", f"{API}/dnc", params={"q": "916 123"}).json()
    name = world.create()
    summary = world.load(name, SMALL_CSV)

    assert added.json() == {"added": 2, "listed": 2}
    assert [entry["phone"] for entry in found["numbers"]] == ["79161234567"]
    assert summary["suppressed"] == 1
    assert summary["loaded"] == 0


def test_dnc_import_takes_a_multipart_file(world: World) -> None:
    body = b"phone\n89160000002\n+7 916 000-00-03\nnot a number\n"

    response = world.call(
        "POST", f"{API}/dnc/import", files={"file": ("dnc.csv", body, "text/csv")}
    )
    listed = world.call("GET", f"{API}/dnc").json()

    assert response.json() == {"added": 2, "listed": 2, "rejected": 1}
    assert {entry["phone"] for entry in listed["numbers"]} == {"79160000002", "79160000003"}


def test_openapi_lists_the_routes_without_credentials(world: World) -> None:
    response = world.call("GET", f"{API}/openapi.json", who=None)

    assert response.status_code == 200
    assert f"{API}/campaigns" in response.json()["paths"]


# --- console session and CSRF ------------------------------------------------------------


def _hidden(html: str, field: str) -> str:
    found = re.search(rf'name="{field}" value="([^"]+)"', html)
    assert found is not None, f"no {field} in the page"
    return found.group(1)


def _sign_in(world: World, user: str, password: str = PASSWORD) -> Any:
    form = world.client.get("/login")
    token = _hidden(form.text, "login_csrf")
    assert world.client.cookies.get("dialer_login_csrf") == token
    return world.client.post(
        "/login",
        data={"username": user, "password": password, "login_csrf": token},
        follow_redirects=False,
    )


def test_a_session_cookie_needs_the_csrf_token_to_change_things(world: World) -> None:
    signed_in = _sign_in(world, USERS[Role.MANAGER])
    cookie_line = next(
        line
        for line in signed_in.headers.get_list("set-cookie")
        if line.startswith("dialer_session=")
    )
    dnc = {"numbers": ["89160000009"]}

    without = world.call("POST", f"{API}/dnc", who=None, json=dnc)
    csrf = _hidden(world.client.get("/").text, "csrf_token")
    wrong = world.call(
        "POST", f"{API}/dnc", who=None, json=dnc, headers={"X-CSRF-Token": "x" + csrf}
    )
    right = world.call("POST", f"{API}/dnc", who=None, json=dnc, headers={"X-CSRF-Token": csrf})

    assert signed_in.status_code == 303
    assert "httponly" in cookie_line.lower()
    assert "samesite=lax" in cookie_line.lower()
    assert (without.status_code, wrong.status_code) == (403, 403)
    assert "CSRF" in without.json()["detail"]
    assert (right.status_code, right.json()) == (200, {"added": 1, "listed": 1})
    assert world.call("GET", f"{API}/campaigns", who=None).status_code == 200


def test_wrong_passwords_are_refused_then_throttled(world: World) -> None:
    answers = [_sign_in(world, USERS[Role.ANALYST], "wrong password!") for _ in range(6)]

    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert "Wrong username or password" in answers[0].text
    assert "Too many failed sign-ins" in answers[5].text
    assert "dialer_session" not in world.client.cookies


def test_signing_out_ends_the_session(world: World) -> None:
    _sign_in(world, USERS[Role.ANALYST])
    csrf = _hidden(world.client.get("/").text, "csrf_token")
    cookie = world.client.cookies["dialer_session"]

    out = world.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    world.client.cookies.set("dialer_session", cookie)  # a copy kept by an attacker
    after = world.client.get("/", follow_redirects=False)

    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    assert world.call("GET", f"{API}/campaigns", who=None).status_code == 401


def test_a_disabled_users_session_stops_working(world: World) -> None:
    _sign_in(world, VICTIM)
    before = world.call("GET", f"{API}/campaigns", who=None)

    disabled = world.call("POST", f"{API}/users/{VICTIM}/disable")
    after = world.call("GET", f"{API}/campaigns", who=None)
    page = world.client.get("/", follow_redirects=False)

    assert before.status_code == 200
    assert disabled.json()["active"] is False
    assert after.status_code == 401
    assert page.status_code == 303
