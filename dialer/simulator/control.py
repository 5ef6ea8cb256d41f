"""``/_sim/``: endpoints for tests, benchmarks and the demo (no auth, no faults)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.config import Faults
from dialer.simulator.httputil import json_response, read_json, simulator_of
from dialer.simulator.messages import receive_sms
from dialer.simulator.sbvalidate import e164

RECENT_CALLS = 100
"""Default number of calls ``GET /_sim/calls`` shows."""


async def stats_endpoint(request: Request) -> Response:
    """``GET /_sim/stats``: every counter (see ``Stats.snapshot``)."""
    sim = simulator_of(request)
    snapshot = sim.stats.snapshot()
    snapshot["pending_tasks"] = sim.pending_tasks
    return json_response(snapshot)


async def reset_endpoint(request: Request) -> Response:
    """``POST /_sim/reset``: forget calls, messages and stats; cancel pending events; restore
    the configured faults and reseed."""
    await simulator_of(request).reset()
    return json_response({"reset": True})


async def faults_endpoint(request: Request) -> Response:
    """``GET /_sim/faults`` shows the faults; ``POST`` replaces them (a full ``Faults`` JSON
    object; omitted fields take their defaults). Invalid input: 422 with the errors."""
    sim = simulator_of(request)
    if request.method == "POST":
        parsed, body = await read_json(request)
        if not parsed:
            return json_response({"error": "body should be JSON"}, 422)
        try:
            sim.faults = Faults.model_validate(body)
        except ValidationError as error:
            return json_response({"error": error.errors(include_url=False)}, 422)
    return json_response(sim.faults.model_dump(mode="json"))


async def inbound_sms_endpoint(request: Request) -> Response:
    """``POST /_sim/inbound-sms {"from", "to", "text"}``: a subscriber texts one of the
    account's numbers; the inbound event goes to the SMS webhook."""
    sim = simulator_of(request)
    parsed, body = await read_json(request)
    if not parsed or not isinstance(body, Mapping):
        return json_response({"error": "body should be a JSON object"}, 400)
    sender, recipient, text = body.get("from"), body.get("to"), body.get("text")
    own = {entry.number for entry in sim.config.numbers}
    sender_number = e164(sender)
    if sender_number is None:
        return json_response({"error": "from should be 11 digits"}, 400)
    if not isinstance(recipient, str) or recipient not in own:
        return json_response({"error": "to should be one of the account's numbers"}, 400)
    if not isinstance(text, str):
        return json_response({"error": "text should be a string"}, 400)
    message = receive_sms(sim, sender_number, recipient, text)
    return json_response({"message_sid": message.message_sid}, 201)


async def calls_endpoint(request: Request) -> Response:
    """``GET /_sim/calls?limit=N``: the most recent calls with their chosen outcome."""
    sim = simulator_of(request)
    try:
        limit = max(int(request.query_params.get("limit", RECENT_CALLS)), 0)
    except ValueError:
        return json_response({"error": "limit should be an integer"}, 400)
    recent = list(sim.calls.values())[-limit:] if limit else []
    return json_response({"calls": [call.to_json() for call in recent]})
