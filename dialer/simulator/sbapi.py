"""``POST /v1/sb``: the sb-api informer and ``ivr-api`` call endpoint."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.calls import place_call
from dialer.simulator.encoding import JSON_TYPE, json_bytes, sb_success
from dialer.simulator.httputil import credentials_match, read_json, simulator_of, unauthorized
from dialer.simulator.sbvalidate import Refusal, validate_call_request


async def sb_endpoint(request: Request) -> Response:
    """Place a call, or answer the documented refusal.

    Wrong Basic credentials get 401 (body undocumented); a body that is not JSON gets 400
    (undocumented). Every answer in the docs is HTTP 200, except ``access forbidden`` (403,
    our choice: the docs give no status).
    """
    sim = simulator_of(request)
    config = sim.config
    if not credentials_match(request, config.login, config.password):
        return unauthorized({"message": "unauthorized"})
    parsed, body = await read_json(request)
    if not parsed:
        return Response(json_bytes({"message": "invalid json"}), 400, media_type=JSON_TYPE)
    call_id = sim.ids.call_id()
    result = validate_call_request(body, config, call_id)
    if isinstance(result, Refusal):
        sim.stats.calls_refused[result.reason] += 1
        return Response(result.body, result.status_code, media_type=JSON_TYPE)
    place_call(sim, result, call_id)
    return Response(sb_success(result.mess_id, call_id), media_type=JSON_TYPE)
