"""A simulated Bitrix24 portal's REST webhook: ``/rest/<user id>/<code>/<method>[.json]``
with ``voximplant.callback.start`` and ``voximplant.line.get``, and the callback's
``OnVoximplantCall*`` events POSTed (form-encoded, PHP-style keys) to
``SimulatorConfig.bitrix24_webhook_url`` with ``auth[application_token]``.

Doc-faithful (apidocs.bitrix24.com): the success answer ``{"result": {"RESULT": true,
"CALL_ID": "callback.<hex>.<unix time>"}, "time": {...}}``; ``ERROR_CORE`` ``Could not
find line <id>`` and ``Phone number is not correct`` (HTTP 400); ``INVALID_CREDENTIALS``
(401) for a wrong user id or code; ``ERROR_METHOD_NOT_FOUND`` (404); the leaky-bucket
request limit answered 503 ``QUERY_LIMIT_EXCEEDED`` (``bitrix24_query_limit``: 2 per
second drained, 50 before blocking). Inventions where the docs are silent: an empty
``TEXT_TO_PRONOUNCE`` is an ``ERROR_CORE`` refusal; the events' timing and codes
(``bitrix24_plan``); plain http is accepted (the real portal answers ``INVALID_REQUEST``
"Https required").
"""

from __future__ import annotations

import hmac
import json
import re
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.bitrix24_plan import (
    Bitrix24EventPlan,
    bitrix24_events,
    choose_bitrix24_plan,
)
from dialer.simulator.callback_plan import CallbackPlan
from dialer.simulator.encoding import FORM_TYPE, JSON_TYPE
from dialer.simulator.httputil import simulator_of
from dialer.simulator.state import Simulator, play_in_time
from dialer.simulator.webhooks import Delivery, deliver

REST_PATH = "/rest/{user_id}/{code}/{method}"
PORTAL_DOMAIN = "sim.bitrix24.ru"
MEMBER_ID = "a223c6b9410f85df73e9377d6c4f7213"
"""The portal's ``auth[member_id]``: the event pages' example."""
PORTAL_ZONE = ZoneInfo("Europe/Moscow")
_NUMBER = re.compile(r"[0-9]{10,15}")


@dataclass(slots=True)
class Bitrix24Call:
    call_id: str
    line_id: str
    user_id: int
    contact: str
    plan: CallbackPlan
    ended: bool = False


@dataclass(slots=True)
class _Portal:
    """One simulator's portal until its next reset (a reset replaces ``sim.stats``):
    callbacks, and the leaky bucket's level at ``drained_at`` (monotonic seconds)."""

    stats: object
    calls: dict[str, Bitrix24Call] = field(default_factory=dict)
    level: float = 0.0
    drained_at: float = 0.0


_PORTALS: weakref.WeakKeyDictionary[Simulator, _Portal] = weakref.WeakKeyDictionary()


def portal_of(sim: Simulator) -> _Portal:
    portal = _PORTALS.get(sim)
    if portal is None or portal.stats is not sim.stats:
        portal = _PORTALS[sim] = _Portal(sim.stats, drained_at=time.monotonic())
    return portal


def bitrix24_calls(sim: Simulator) -> dict[str, Bitrix24Call]:
    """The callbacks started since the simulator's last start or reset."""
    return portal_of(sim).calls


async def rest_endpoint(request: Request) -> Response:
    """``/rest/<user id>/<code>/<method>``: the request limit, the webhook, the method."""
    sim = simulator_of(request)
    if not _admitted(sim, time.monotonic()):
        sim.stats.rate_limited_total += 1
        return rest_error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
    config = sim.config
    user = str(request.path_params.get("user_id", ""))
    code = str(request.path_params.get("code", ""))
    expected = config.bitrix24_webhook_code.get_secret_value()
    code_ok = hmac.compare_digest(code.encode(), expected.encode())
    if not (code_ok and user == str(config.bitrix24_user_id)):
        return rest_error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
    name = str(request.path_params.get("method", "")).lower().removesuffix(".json")
    method = _METHODS.get(name)
    if method is None:
        return rest_error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
    params = await _params(request)
    if params is None:
        return rest_error(400, "ERROR_CORE", "Invalid request body")
    return method(sim, params)


def start_callback(sim: Simulator, params: Mapping[str, str]) -> Response:
    line_id = params.get("FROM_LINE", "")
    line = sim.config.bitrix24_lines.get(line_id)
    if line is None:
        return rest_error(400, "ERROR_CORE", f"Could not find line {line_id}")
    contact = params.get("TO_NUMBER", "").strip().lstrip("+")
    if not _NUMBER.fullmatch(contact):
        return rest_error(400, "ERROR_CORE", "Phone number is not correct")
    if not params.get("TEXT_TO_PRONOUNCE", "").strip():
        return rest_error(400, "ERROR_CORE", "TEXT_TO_PRONOUNCE is empty")
    calls = bitrix24_calls(sim)
    busy = frozenset(c.user_id for c in calls.values() if not c.ended and c.plan.agent)
    plan = choose_bitrix24_plan(sim.outcome_rng, sim.config, contact, line_id, line, busy)
    now = sim.now()
    call_id = f"callback.{sim.ids.uuid().replace('-', '')}.{int(now.timestamp())}"
    call = calls[call_id] = Bitrix24Call(call_id, line_id, line.user_id, contact, plan)
    events = bitrix24_events(
        plan,
        call_id=call_id,
        line_id=line_id,
        line=line,
        contact=contact,
        started_at=now.astimezone(PORTAL_ZONE),
    )
    sim.spawn(_play(sim, call, events))
    return rest_result({"RESULT": True, "CALL_ID": call_id})


def get_lines(sim: Simulator, params: Mapping[str, str]) -> Response:
    return rest_result({line_id: line.name for line_id, line in sim.config.bitrix24_lines.items()})


_METHODS: Mapping[str, Callable[[Simulator, Mapping[str, str]], Response]] = {
    "voximplant.callback.start": start_callback,
    "voximplant.line.get": get_lines,
}


def rest_result(result: object) -> Response:
    """A success answer with the ``time`` block every answer carries."""
    now = time.time()
    document = {
        "result": result,
        "time": {"start": now, "finish": now, "duration": 0.0, "processing": 0.0},
    }
    return Response(json.dumps(document, ensure_ascii=False), media_type=JSON_TYPE)


def rest_error(status_code: int, code: str, description: str) -> Response:
    document = {"error": code, "error_description": description}
    return Response(json.dumps(document), status_code=status_code, media_type=JSON_TYPE)


def event_body(fields: Mapping[str, str], sim: Simulator) -> bytes:
    """One event as the portal's event queue posts it: ``ts`` and ``auth[...]`` added,
    PHP-style keys percent-encoded (``data%5BCALL_ID%5D=...``)."""
    config = sim.config
    pairs = [
        *fields.items(),
        ("ts", str(int(sim.now().timestamp()))),
        ("auth[domain]", PORTAL_DOMAIN),
        ("auth[member_id]", MEMBER_ID),
        ("auth[application_token]", config.bitrix24_application_token.get_secret_value()),
    ]
    return urlencode(pairs).encode()


def _admitted(sim: Simulator, now: float) -> bool:
    """The leaky bucket: each request adds one, ``drain`` leak per second; past ``size``
    requests are blocked (and add nothing)."""
    portal = portal_of(sim)
    drain, size = sim.config.bitrix24_query_limit
    portal.level = max(0.0, portal.level - (now - portal.drained_at) * drain)
    portal.drained_at = now
    if portal.level + 1 > size:
        return False
    portal.level += 1
    return True


async def _params(request: Request) -> dict[str, str] | None:
    """Query fields, then the body's (a JSON object or a form); ``None`` for a body that
    is neither."""
    params = dict(request.query_params)
    body = (await request.body()).strip()
    if not body:
        return params
    if body.startswith(b"{"):
        try:
            value: object = json.loads(body)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        params.update(
            (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()
        )
        return params
    try:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None
    return params


async def _play(sim: Simulator, call: Bitrix24Call, events: list[Bitrix24EventPlan]) -> None:
    """POST ``events`` to ``bitrix24_webhook_url`` at their (scaled) times."""

    async def step(index: int) -> None:
        url = sim.config.bitrix24_webhook_url
        if url:
            body = event_body(events[index].fields, sim)
            await deliver(sim, Delivery("POST", url, body, FORM_TYPE))

    def end() -> None:
        call.ended = True

    await play_in_time(sim, [event.at for event in events], step, end)
