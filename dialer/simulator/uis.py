"""``POST /uis/v4.0``: the UIS Call API methods the dialer uses, ``login.user`` and
``start.simple_call``, with UIS's errors, and the call's notifications sent to
``uis_webhook_url`` as set up in docs/callback-uis.md (POST JSON or GET query).

Doc-faithful (uis-start-simple-call.txt and the Call API's common sections): errors are
JSON-RPC errors with ``data.mnemonic``/``field``/``value``; a parameter outside the method's
table is ``unexpected_parameters``; a session key lives ``uis_session_ttl_s`` and is then
``access_token_invalid``; the method's own errors (TTS length, media file, virtual number,
own number, blacklist, encoding, ``early_switching`` combination); ``limit_exceeded`` past
``uis_calls_per_minute``. Simulator inventions, where the docs are silent: HTTP 200 for every
JSON-RPC answer; the order of the checks; how long UIS rings the operator
(``uis_plan.OPERATOR_RING_SECONDS``); the notifications' mnemonics; known media files are
the doc's example ids.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from dialer.providers.uis_events import NOTIFICATIONS, body_template, query_template
from dialer.simulator.callback_plan import CallbackPlan
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.httputil import json_response, simulator_of
from dialer.simulator.state import Simulator, play_in_time
from dialer.simulator.uis_plan import (
    UisCallSpec,
    UisNotification,
    choose_uis_plan,
    uis_notifications,
)
from dialer.simulator.webhooks import Delivery, deliver

SIMPLE_CALL_PARAMETERS = frozenset(
    {
        "access_token",
        "first_call",
        "switch_at_once",
        "early_switching",
        "media_file_id",
        "virtual_phone_number",
        "virtual_phone_usage_rule",
        "show_virtual_phone_number",
        "contact",
        "external_id",
        "dtmf_string",
        "direction",
        "operator",
        "operator_confirmation",
        "contact_message",
        "operator_message",
    }
)
"""The method's table (uis-start-simple-call.txt lines 19-117)."""
_REQUIRED = ("first_call", "virtual_phone_number", "contact", "operator")
_BOOLEANS = ("switch_at_once", "early_switching", "show_virtual_phone_number")
_STRINGS = (
    "first_call",
    "virtual_phone_number",
    "virtual_phone_usage_rule",
    "contact",
    "external_id",
    "dtmf_string",
    "direction",
    "operator",
    "operator_confirmation",
)
_CHOICES: Mapping[str, frozenset[str]] = {
    "first_call": frozenset({"contact", "operator"}),
    "direction": frozenset({"in", "out"}),
    "virtual_phone_usage_rule": frozenset(
        {"fixed", "fixed_for_numa", "random", "regional_random", "regional_fixed_for_numa"}
    ),
}
KNOWN_MEDIA_FILES = frozenset({2561, 2701})
"""The media ids of the doc's example."""
_E164 = re.compile(r"[0-9]{10,15}")
_CONFIRMATION = re.compile(r"[0-9*#]+|any")
_DTMF = re.compile(r"[0-9*#.]+")
UIS_ZONE = ZoneInfo("Europe/Moscow")
MINUTE_SECONDS = 60.0
FIRST_CALL_SESSION_ID = 237859081
"""The doc's example answer; later calls count up from it."""


class UisFault(Exception):
    """A Call API error: ``code``, message text and ``data`` (mnemonic, field, value)."""

    def __init__(
        self,
        code: int,
        message: str,
        mnemonic: str,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.mnemonic = code, message, mnemonic
        self.field, self.value = field, value

    def document(self) -> dict[str, object]:
        data: dict[str, object] = {"mnemonic": self.mnemonic}
        if self.field is not None:
            data["field"] = self.field
            if self.value is not None:
                data["value"] = self.value if isinstance(self.value, str) else str(self.value)
        data["params"] = {}
        data["extended_helper"] = None
        return {"code": self.code, "message": self.message, "data": data}


def _invalid(name: str, value: object) -> UisFault:
    return UisFault(-32602, "Invalid parameter value", "invalid_parameter_value", name, value)


def _wrong_type(name: str, value: object) -> UisFault:
    return UisFault(-32602, "Data supplied is of wrong type", "data_type_error", name, value)


def _missed(name: str) -> UisFault:
    return UisFault(
        -32602, "The required parameter has been missed", "required_parameter_missed", name
    )


def _unexpected(name: str) -> UisFault:
    return UisFault(-32602, "Unexpected method parameter(s)", "unexpected_parameters", name)


@dataclass(slots=True)
class UisCall:
    spec: UisCallSpec
    plan: CallbackPlan
    ended: bool = False


@dataclass(slots=True)
class _Store:
    """Session keys and calls of one simulator, until its next reset."""

    stats: object
    sessions: dict[str, float] = field(default_factory=dict)
    calls: dict[int, UisCall] = field(default_factory=dict)
    accepted: deque[float] = field(default_factory=deque)
    last_id: int = FIRST_CALL_SESSION_ID - 1


_STORES: weakref.WeakKeyDictionary[Simulator, _Store] = weakref.WeakKeyDictionary()


def _store(sim: Simulator) -> _Store:
    store = _STORES.get(sim)
    if store is None or store.stats is not sim.stats:
        store = _STORES[sim] = _Store(sim.stats)
    return store


def uis_calls_of(sim: Simulator) -> dict[int, UisCall]:
    """The UIS calls placed since the simulator's last start or reset."""
    return _store(sim).calls


def expire_sessions(sim: Simulator) -> None:
    """End every session key now (tests: the key a client holds goes stale)."""
    sessions = _store(sim).sessions
    for key in sessions:
        sessions[key] = 0.0


async def uis_endpoint(request: Request) -> Response:
    """One JSON-RPC 2.0 call; every answer is HTTP 200 (an invention: the docs show none)."""
    sim = simulator_of(request)
    raw = await request.body()
    request_id: object = None
    try:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UisFault(
                -32602, "The character encoding must be UTF-8", "character_encoding_not_allowed"
            ) from None
        try:
            body: object = json.loads(text)
        except ValueError:
            raise UisFault(
                -32700, "Invalid JSON was received by the server.", "parse_error"
            ) from None
        if isinstance(body, list):
            raise UisFault(
                -32099, "Batch operations not supported", "batch_opreations_not_supported"
            )
        request_id = body.get("id") if isinstance(body, Mapping) else None
        method = _method(body)
        result = method(sim, body["params"] if isinstance(body, Mapping) else None)
    except UisFault as fault:
        return json_response({"jsonrpc": "2.0", "id": request_id, "error": fault.document()})
    return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


def _method(body: object) -> Callable[[Simulator, object], dict[str, object]]:
    if not isinstance(body, Mapping) or body.get("jsonrpc") != "2.0":
        raise UisFault(
            -32600, "Invalid Request The JSON sent is not a valid Request object", "invalid_request"
        )
    if "id" not in body:
        raise UisFault(-32099, "Notifications not supported", "notifications_not_supported")
    if not isinstance(body.get("params"), Mapping):
        raise UisFault(
            -32600, "Invalid Request The JSON sent is not a valid Request object", "invalid_request"
        )
    method = UIS_METHODS.get(str(body.get("method")))
    if method is None:
        raise UisFault(-32601, "The method does not exist / is not available", "method_not_found")
    return method


def login_user(sim: Simulator, params: object) -> dict[str, object]:
    assert isinstance(params, Mapping)
    for name in params:
        if name not in ("login", "password"):
            raise _unexpected(name)
    for name in ("login", "password"):
        if name not in params:
            raise _missed(name)
        if not isinstance(params[name], str):
            raise _wrong_type(name, params[name])
    config = sim.config
    if params["login"] != config.uis_login or not secrets.compare_digest(
        str(params["password"]), config.uis_password.get_secret_value()
    ):
        raise UisFault(-32001, "Login or password is wrong", "auth_error")
    key = secrets.token_hex(36)
    expire_at = time.time() + config.uis_session_ttl_s
    _store(sim).sessions[key] = expire_at
    return {"data": {"access_token": key, "expire_at": math.floor(expire_at)}}


def start_simple_call(sim: Simulator, params: object) -> dict[str, object]:
    assert isinstance(params, Mapping)
    store = _store(sim)
    _authenticate(sim, store, params)
    for name in params:
        if name not in SIMPLE_CALL_PARAMETERS:
            raise _unexpected(name)
    for name in _REQUIRED:
        if name not in params:
            raise _missed(name)
    _check_values(sim, params)
    _check_limit(sim, store)
    virtual, contact = params["virtual_phone_number"], params["contact"]
    if virtual not in sim.config.uis_virtual_numbers:
        raise UisFault(
            -32007,
            f"Virtual phone number {virtual} not found. It is not your virtual phone number.",
            "virtual_phone_number_not_found",
            "virtual_phone_number",
            virtual,
        )
    if contact in sim.config.uis_virtual_numbers:
        raise UisFault(
            -32602,
            "Parameter contact can not contain own virtual phone number",
            "own_virtual_phone_number_not_allowed",
            "contact",
            contact,
        )
    if contact in sim.config.uis_blacklist:
        raise UisFault(
            -32002,
            f"The contact {contact} has been found in the blacklist",
            "contact_in_blacklist",
            "contact",
            contact,
        )
    store.accepted.append(time.monotonic())
    store.last_id += 1
    external = params.get("external_id")
    spec = UisCallSpec(
        call_session_id=store.last_id,
        operator=str(params["operator"]),
        contact=str(contact),
        virtual_phone_number=str(virtual),
        external_id=external if isinstance(external, str) else None,
    )
    busy = frozenset(c.spec.operator for c in store.calls.values() if not c.ended)
    plan = choose_uis_plan(sim.outcome_rng, sim.config, spec, busy)
    call = store.calls[spec.call_session_id] = UisCall(spec, plan)
    sim.spawn(_play(sim, call, uis_notifications(plan, spec)))
    return {"data": {"call_session_id": spec.call_session_id}, "metadata": _metadata(sim, store)}


UIS_METHODS: Mapping[str, Callable[[Simulator, object], dict[str, object]]] = {
    "login.user": login_user,
    "start.simple_call": start_simple_call,
}


def _authenticate(sim: Simulator, store: _Store, params: Mapping[str, object]) -> None:
    key = params.get("access_token")
    if key is None:
        raise _missed("access_token")
    if not isinstance(key, str):
        raise _wrong_type("access_token", key)
    permanent = sim.config.uis_access_token.get_secret_value()
    if permanent and secrets.compare_digest(key, permanent):
        return
    expire_at = store.sessions.get(key)
    if expire_at is None or time.time() >= expire_at:
        # "не найден или истекло время жизни временного токена"
        store.sessions.pop(key, None)
        raise UisFault(-32001, "Access token is invalid", "access_token_invalid")


def _check_values(sim: Simulator, params: Mapping[str, object]) -> None:
    for name in _STRINGS:
        if name in params and not isinstance(params[name], str):
            raise _wrong_type(name, params[name])
    for name in _BOOLEANS:
        if name in params and not isinstance(params[name], bool):
            raise _wrong_type(name, params[name])
    for name, allowed in _CHOICES.items():
        if name in params and params[name] not in allowed:
            raise _invalid(name, params[name])
    for name in ("virtual_phone_number", "contact", "operator"):
        if not _E164.fullmatch(str(params[name])):
            raise _invalid(name, params[name])
    confirmation = params.get("operator_confirmation")
    if confirmation is not None and not _CONFIRMATION.fullmatch(str(confirmation)):
        raise _invalid("operator_confirmation", confirmation)
    dtmf = params.get("dtmf_string")
    if dtmf is not None and not _DTMF.fullmatch(str(dtmf)):
        raise _invalid("dtmf_string", dtmf)
    media = params.get("media_file_id")
    if media is not None:
        if not isinstance(media, int) or isinstance(media, bool):
            raise _wrong_type("media_file_id", media)
        _check_media(media)
    if params.get("early_switching") is True and not (
        params.get("first_call") == "operator" and params.get("switch_at_once") is True
    ):
        raise UisFault(
            -32602,
            "The combination of parameters is not permitted",
            "invalid_parameters_combination",
        )
    for name in ("contact_message", "operator_message"):
        if name in params:
            _check_message(sim, name, params[name])


def _check_message(sim: Simulator, name: str, message: object) -> None:
    if not isinstance(message, Mapping):
        raise _wrong_type(name, message)
    for key in message:
        if key not in ("type", "value"):
            raise _unexpected(f"{name}.{key}")
    for key in ("type", "value"):
        if key not in message:
            raise _missed(f"{name}.{key}")
        if not isinstance(message[key], str):
            raise _wrong_type(f"{name}.{key}", message[key])
    kind, value = message["type"], str(message["value"])
    if kind not in ("media", "tts"):
        raise _invalid(f"{name}.type", kind)
    if kind == "media":
        if not value.isdigit():
            raise _invalid(f"{name}.value", value)
        _check_media(int(value))
    limit = sim.config.uis_tts_max_length
    if kind == "tts" and len(value) > limit:
        raise UisFault(
            -32602,
            f"The maximum length of Text-to-Speech message is {limit}. "
            f"The length of your message is {len(value)}",
            "tts_text_exceeded",
            f"{name}.value",
        )


def _check_media(media_id: int) -> None:
    if media_id not in KNOWN_MEDIA_FILES:
        raise UisFault(
            -32602, f"The media file with id {media_id} not found", "media_file_not_found"
        )


def _check_limit(sim: Simulator, store: _Store) -> None:
    limit = sim.config.uis_calls_per_minute
    if limit is None:
        return
    now = time.monotonic()
    while store.accepted and store.accepted[0] <= now - MINUTE_SECONDS:
        store.accepted.popleft()
    if len(store.accepted) >= limit:
        raise UisFault(
            -32029,
            f"Limit per minute has been exceeded. Value of current limit per minute is {limit}",
            "limit_exceeded",
        )


def _metadata(sim: Simulator, store: _Store) -> dict[str, object]:
    limit = sim.config.uis_calls_per_minute
    if limit is None:
        return {}
    remaining = max(limit - len(store.accepted), 0)
    return {"limits": {"minute_limit": limit, "minute_remaining": remaining, "minute_reset": 60}}


_BY_EVENT = {notification.event: notification for notification in NOTIFICATIONS}


def notification_delivery(sim: Simulator, note: UisNotification, url: str) -> Delivery:
    """The request UIS makes for ``note``: our template with every placeholder filled in
    (JSON values in a POST body, URL-encoded text in a GET query)."""
    values = {**note.values, "notification_time": _now_text()}
    notification = _BY_EVENT[note.event]
    if sim.config.uis_webhook_method == "GET":
        query = query_template(notification)
        for name in notification.parameters:
            value = values.get(name)
            query = query.replace("{{" + name + "}}", "" if value is None else quote(str(value)))
        return Delivery("GET", f"{url}{'&' if '?' in url else '?'}{query}")
    body = body_template(notification)
    for name in notification.parameters:
        body = body.replace("{{" + name + "}}", json.dumps(values.get(name), ensure_ascii=False))
    return Delivery("POST", url, body.encode(), "application/json; charset=UTF-8")


def _now_text() -> str:
    """``notification_time`` as UIS writes it: the account's zone, milliseconds."""
    return datetime.now(UIS_ZONE).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


async def _play(sim: Simulator, call: UisCall, notes: list[UisNotification]) -> None:
    async def step(index: int) -> None:
        url = sim.config.uis_webhook_url
        if url:
            await deliver(sim, notification_delivery(sim, notes[index], url))

    def end() -> None:
        call.ended = True

    await play_in_time(sim, [note.at for note in notes], step, end)


def uis_settings_for(base_url: str, config: SimulatorConfig) -> dict[str, object]:
    """The ``Settings`` fields that point the dialer at this simulator's UIS (for
    ``dialer.sandbox.start_sandbox``'s ``model_copy(update=...)``); the login, not the key."""
    return {
        "uis_api_url": f"{base_url}/uis/v4.0",
        "uis_login": config.uis_login,
        "uis_password": SecretStr(config.uis_password.get_secret_value()),
        "uis_access_token": SecretStr(""),
    }
