"""MTT Business Open API in the simulator, mounted under ``/mtt-business``: the OAuth server
(``/mtt-business/oauth/...``, see ``mtt_business_oauth``), the methods ``makeCall``,
``workplacesInfo`` and ``externalNumbersInfo`` under ``/mtt-business/api/`` behind Bearer
tokens, and the call notifications POSTed to ``SimulatorConfig.mtt_business_webhook_url``.

So the dialer's settings are ``DIALER_MTT_BUSINESS_OAUTH_URL=<sim>/mtt-business`` and
``DIALER_MTT_BUSINESS_API_URL=<sim>/mtt-business/api``.

Doc-faithful: 401 for a missing, unknown or expired access token (7.6); the success answer
of ``makeCall`` exactly as printed, trailing comma included (10.3.1); ``callerId`` must be a
workplace, not a terminal (10.3.1); 5 requests per second per integration (6.7); the
notification ids are not ``makeCall``'s id (the doc's examples never repeat it); a workplace
on another call does not answer. Simulator inventions, where the doc is silent: the error
answers (HTTP 400 with ``{"error": {"code", "message"}}``, 429 for the rate limit), the
notification reasons, the 401 body.

``/_sim/mtt-business`` shows the counters (``refresh_uses``: refresh tokens spent;
``refresh_rejected``: refused refreshes, a token used twice among them; ``api_unauthorized``:
401 answers); ``POST /_sim/mtt-business/expire {"access": true, "refresh": false}`` ends the
current tokens' lives now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialer.simulator.callback_plan import CallbackPlan, DialItem, choose_callback_plan
from dialer.simulator.encoding import json_bytes
from dialer.simulator.faults import gated
from dialer.simulator.httputil import json_response, read_json, simulator_of
from dialer.simulator.mtt_business_oauth import (
    BusinessState,
    authorize_endpoint,
    business_state,
    token_endpoint,
)
from dialer.simulator.mtt_business_plan import (
    BusinessLeg,
    NotificationPlan,
    business_notifications,
    notification_body,
)
from dialer.simulator.state import Simulator, play_in_time
from dialer.simulator.webhooks import Delivery, deliver

PREFIX = "/mtt-business"
API = "mtt-business"
"""The simulator's API name for request faults and stats."""
RATE_WINDOW_SECONDS = 1.0
_CONTACT = re.compile(r"\+?[0-9]{10,15}")
_JSON = "application/json"
_MAKE_CALL_ANSWER = """{{
  "result": {{
    "call": {{
      "id": "{call_id}"
    }},
    "success": 1
  }},
}}"""


@dataclass(slots=True)
class BusinessCall:
    call_id: str
    leg: BusinessLeg
    plan: CallbackPlan
    ended: bool = False


def routes() -> list[BaseRoute]:
    """Every MTT Business route of the simulator (its one line in ``app.create_app``)."""
    return [
        Route(f"{PREFIX}/oauth/authorize", authorize_endpoint, methods=["GET"]),
        Route(f"{PREFIX}/oauth/token", gated(API, token_endpoint), methods=["POST"]),
        Route(f"{PREFIX}/api/{{method}}", gated(API, api_endpoint), methods=["GET", "POST"]),
        Route("/_sim/mtt-business", counters_endpoint, methods=["GET"]),
        Route("/_sim/mtt-business/expire", expire_endpoint, methods=["POST"]),
    ]


async def api_endpoint(request: Request) -> Response:
    """``<api>/<method>``: Bearer check, the integration's rate limit, then the method."""
    sim = simulator_of(request)
    state = business_state(sim)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.access_valid(token.strip()):
        state.counters["api_unauthorized"] += 1
        response = json_response({"error": "invalid_token"}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    if _over_rate(sim, state):
        state.counters["api_rate_limited"] += 1
        return json_response({"error": {"code": 429, "message": "Too Many Requests"}}, 429)
    method = request.path_params["method"]
    if method == "makeCall" and request.method == "POST":
        return await _make_call(sim, state, request)
    if method == "workplacesInfo" and request.method == "GET":
        account = sim.config.mtt_business
        listed = [
            {"workplace": sip_id, "name": name} for sip_id, name in account.workplaces.items()
        ]
        return json_response({"result": {"total": len(listed), "workplacesList": listed}})
    if method == "externalNumbersInfo" and request.method == "GET":
        number = {"number": sim.config.mtt_business.external_number, "type": None}
        return json_response({"result": {"total": 1, "numbersList": [number]}})
    return json_response({"error": {"code": 404, "message": f"Method not found: {method}"}}, 404)


async def counters_endpoint(request: Request) -> Response:
    """``GET /_sim/mtt-business``: the counters and the tokens alive."""
    state = business_state(simulator_of(request))
    return json_response(
        {
            **{name: state.counters[name] for name in _COUNTERS},
            "access_tokens_valid": sum(state.access_valid(token) for token in state.access),
            "calls": len(state.calls),
        }
    )


async def expire_endpoint(request: Request) -> Response:
    """``POST /_sim/mtt-business/expire {"access": bool, "refresh": bool}``."""
    parsed, body = await read_json(request)
    if not parsed or not isinstance(body, Mapping):
        return json_response({"error": "body should be a JSON object"}, 400)
    business_state(simulator_of(request)).expire(
        access=bool(body.get("access", True)), refresh=bool(body.get("refresh", False))
    )
    return json_response({"expired": True})


_COUNTERS = (
    "codes_issued",
    "code_exchanges",
    "token_requests",
    "refresh_uses",
    "refresh_rejected",
    "api_unauthorized",
    "api_rate_limited",
    "make_calls",
)


async def _make_call(sim: Simulator, state: BusinessState, request: Request) -> Response:
    parsed, body = await read_json(request)
    params = body.get("params") if parsed and isinstance(body, Mapping) else None
    if not isinstance(params, Mapping):
        return _error(400, "params required")
    account = sim.config.mtt_business
    workplace = params.get("callerId")
    if not isinstance(workplace, str) or workplace not in account.workplaces:
        return _error(400, "Workplace not found: callerId")
    contact = params.get("calleid")
    if not isinstance(contact, str) or not _CONTACT.fullmatch(contact):
        return _error(400, "Invalid calleid")
    busy = {
        call.leg.workplace
        for call in state.calls.values()
        if isinstance(call, BusinessCall) and not call.ended and call.plan.agent is not None
    }
    if workplace in account.silent_workplaces:
        busy.add(workplace)
    item = DialItem(workplace, account.workplace_ring_seconds, sequential=False)
    plan = choose_callback_plan(
        sim.outcome_rng, sim.config, _eleven_digits(contact), [item], frozenset(busy)
    )
    call_id = f"{sim.ids.uuid().replace('-', '')[:28]}@10.133.51.137"
    leg = BusinessLeg(
        leg_id=f"SD{sim.ids.call_id()[-7:]}-{sim.ids.uuid().replace('-', '')}@127.0.0.1",
        tag=f"sd{sim.ids.call_id()[-7:]}-{sim.outcome_rng.randrange(10**8, 10**9)}",
        workplace=workplace,
        contact=contact,
        external_number=account.external_number,
    )
    call = BusinessCall(call_id, leg, plan)
    state.calls[call_id] = call
    state.counters["make_calls"] += 1
    sim.spawn(_play(sim, call, business_notifications(plan)))
    return Response(_MAKE_CALL_ANSWER.format(call_id=call_id), media_type=_JSON)


async def _play(sim: Simulator, call: BusinessCall, items: list[NotificationPlan]) -> None:
    """POST each notification to the webhook at its (scaled) time."""

    async def step(index: int) -> None:
        url = sim.config.mtt_business_webhook_url
        if url:
            body = notification_body(items[index], call.leg, sim.now())
            await deliver(sim, Delivery("POST", url, json_bytes(body), _JSON))

    def end() -> None:
        call.ended = True

    # The call is over for the workplace at "finished"; "recorded" comes after.
    finished = next(i for i, item in enumerate(items) if item.state == "finished")
    moments = [item.at for item in items]

    async def step_and_free(index: int) -> None:
        if index == finished:
            end()
        await step(index)

    await play_in_time(sim, moments, step_and_free, end)


def _over_rate(sim: Simulator, state: BusinessState) -> bool:
    limit = sim.config.mtt_business.rps_limit
    now = state.clock()
    while state.recent and now - state.recent[0] >= RATE_WINDOW_SECONDS:
        state.recent.popleft()
    if limit is not None and len(state.recent) >= limit:
        return True
    state.recent.append(now)
    return False


def _eleven_digits(contact: str) -> str:
    """The contact as ``overrides`` are keyed (``8XXXXXXXXXX`` as ``7XXXXXXXXXX``)."""
    digits = contact.lstrip("+")
    return "7" + digits[1:] if len(digits) == 11 and digits.startswith("8") else digits


def _error(status: int, message: str) -> Response:
    return json_response({"error": {"code": status, "message": message}}, status)
