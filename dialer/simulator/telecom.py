"""``POST /index.php``: the Telecom API JSON-RPC methods the dialer uses.

``getCustomerBalance`` (positional params ``[customer_name]``), ``getCallHistory`` (by
sip_id, dates ``dd.mm.yyyy HH:MM:SS``) and ``getServiceHistoryByCustomer`` (by customer,
dates ``YYYY-MM-DD HH:MM:SS``). Histories list the simulator's ended calls; times are UTC
("Время платформы (UTC)"); numbers are strings as in the docs. Without dates the last half
hour is returned, as the docs say for the by-customer method. Calls are selected by the real
time they were placed: their reported ``connect_time`` is in simulated time (placement plus
simulated ringing) and may lie ahead of the wall clock when ``speed`` > 1.
The CallBack methods live in ``callback`` and are dispatched from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.callback import CALLBACK_METHODS
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.httputil import credentials_match, json_response, read_json, simulator_of
from dialer.simulator.records import CallRecord
from dialer.simulator.rpc import RpcError
from dialer.simulator.state import Simulator

MAX_RECORDS = 1000
DEFAULT_WINDOW = timedelta(minutes=30)
DESTINATION = "RUSSIAN FEDERATION"


def _not_found() -> RpcError:
    return RpcError(-32001, "Data not found", "No data found")


def _invalid(detail: str) -> RpcError:
    return RpcError(-32602, "Invalid params", detail)


async def telecom_endpoint(request: Request) -> Response:
    """Dispatch one JSON-RPC 2.0 call; errors are HTTP 200 with an ``error`` member."""
    sim = simulator_of(request)
    if not credentials_match(request, sim.config.login, sim.config.password):
        denied = RpcError(-32002, "Permission denied").document()
        return json_response({"jsonrpc": "2.0", "id": None, "error": denied}, 401)
    parsed, body = await read_json(request)
    if not parsed:
        error = RpcError(-32700, "Parse error").document()
        return json_response({"jsonrpc": "2.0", "id": None, "error": error})
    request_id = body.get("id") if isinstance(body, Mapping) else None
    try:
        if not isinstance(body, Mapping) or not isinstance(body.get("method"), str):
            raise RpcError(-32600, "Invalid Request")
        method = _METHODS.get(body["method"])
        if method is None:
            raise RpcError(-32601, "Method not found")
        result = method(sim, body.get("params"))
    except RpcError as error:
        return json_response({"jsonrpc": "2.0", "id": request_id, "error": error.document()})
    return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


def get_customer_balance(sim: Simulator, params: object) -> dict[str, object]:
    if not isinstance(params, list) or len(params) != 1:
        raise _invalid("params should be [customer_name]")
    if params[0] != sim.config.customer_name:
        raise RpcError(-32001, "Data not found")  # the docs show no ``data`` here
    return {"balance": sim.config.balance, "real_balance": sim.config.balance}


def get_call_history(sim: Simulator, params: object) -> dict[str, object]:
    if not isinstance(params, Mapping):
        raise _invalid("params should be an object")
    if params.get("sip_id") != sim.config.sip_id:
        raise _not_found()
    start, end = _window(params, "%d.%m.%Y %H:%M:%S")
    calls = sorted(_ended_between(sim, start, end), key=lambda call: call.accepted_at)
    dialed = [_dialed_record(call) for call in calls][:MAX_RECORDS]
    return {"incoming": [], "missed": [], "dialed": dialed, "callback": [], "success": 1}


def get_service_history(sim: Simulator, params: object) -> dict[str, object]:
    if not isinstance(params, Mapping):
        raise _invalid("params should be an object")
    kind = params.get("type")
    if kind not in ("incoming", "missed", "dialed", "forwarded"):
        raise _invalid("Invalid type")
    if params.get("customer_name") != sim.config.customer_name:
        raise _not_found()
    count = params.get("record_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _invalid("Invalid record_count")
    start, end = _window(params, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M-%S")
    calls = sorted(
        _ended_between(sim, start, end),
        key=lambda call: call.accepted_at,
        reverse=params.get("order") != "asc",
    )
    wanted = params.get("filter")
    records: list[dict[str, object]] = []
    for call in calls:
        if kind == "dialed":
            records.append(_service_record(sim.config, call, call.spec.a_number, forwarded=False))
        elif kind == "forwarded" and call.plan.transfer_seconds:
            records.append(_service_record(sim.config, call, call.spec.b_number, forwarded=True))
    if isinstance(wanted, str) and wanted:
        records = [r for r in records if wanted in (r["cli"], r["cld"])]
    return {kind: records[: min(count, MAX_RECORDS)], "success": 1}


_METHODS: Mapping[str, Callable[[Simulator, object], dict[str, object]]] = {
    "getCustomerBalance": get_customer_balance,
    "getCallHistory": get_call_history,
    "getServiceHistoryByCustomer": get_service_history,
    **CALLBACK_METHODS,
}


def _window(params: Mapping[str, object], *formats: str) -> tuple[datetime, datetime]:
    """``[start, end)``; a given ``date_to`` includes its whole second."""
    start = _parse(params.get("date_from"), formats, "Invalid begin date")
    given_end = _parse(params.get("date_to"), formats, "Invalid end date")
    end = given_end + timedelta(seconds=1) if given_end else datetime.now(UTC)
    return start or end - DEFAULT_WINDOW, end


def _parse(value: object, formats: tuple[str, ...], error: str) -> datetime | None:
    if value is None:
        return None
    for fmt in formats:
        try:
            return datetime.strptime(str(value), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _invalid(error)


def _ended_between(sim: Simulator, start: datetime, end: datetime) -> list[CallRecord]:
    return [c for c in sim.calls.values() if c.ended and start <= c.accepted_at < end]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _dialed_record(call: CallRecord) -> dict[str, object]:
    """A ``getCallHistory`` record, keyed ``clid`` as in the docs' example (``cld`` in the
    table). Calls are not charged, so ``charged_time`` is ``"0"``."""
    stamp = _stamp(call.connected_at)
    return {
        "cli": call.spec.a_number,
        "clid": call.spec.b_number,
        "customer_local_time": stamp,
        "connect_time": stamp,
        "charged_time": "0",
        "charged": 0,
        "destination": DESTINATION,
        "curr": "RUB",
        "disconnect_cause": str(call.plan.cause),
        "used_quantity": str(call.duration),
        "h323_conf_id": call.conf_id,
    }


def _service_record(
    config: SimulatorConfig, call: CallRecord, cli: str, *, forwarded: bool
) -> dict[str, object]:
    """A ``getServiceHistoryByCustomer`` record; a forwarded one is the transfer leg."""
    cld = call.spec.b_number
    used = call.duration
    if forwarded:
        option = call.spec.option(call.plan.dtmf)
        cld = option.value if option else cld
        used = call.plan.transfer_seconds
    stamp = _stamp(call.connected_at)
    incoming = hashlib.sha256(call.call_id.encode()).hexdigest()[:32].upper()
    return {
        "cli": cli,
        "cld": cld,
        "customer_local_time": stamp,
        "connect_time": stamp,
        "charged_time": "0",
        "charged": 0,
        "destination": DESTINATION,
        "h323_conf_id": call.conf_id,
        "h323_incoming_conf_id": " ".join(incoming[i : i + 8] for i in range(0, 32, 8)),
        "curr": "RUB",
        "setup_time_ms": str(round(call.plan.ring_seconds * 1000)),
        "disconnect_cause": "16" if forwarded else str(call.plan.cause),
        "account_id": config.sip_id,
        "used_quantity": str(used),
        "voice_record_exist": False,
    }
