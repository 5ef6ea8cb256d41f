"""The Telecom JSON-RPC's CallBack methods: ``makeCallBackCallFollowme`` (structure inline) and
``getCallBackFollowmeCallInfo``, with the doc's answers and errors, and the call's events sent
as GETs to ``http://<callBackURL>/event.php?event=...&id=...``.

Doc-faithful: refusals come inside ``result`` (``{"error": 1, "message": "Incorrect B-number
format"}``, ``"Incorrect redirect_number format"``); the id key is ``callbackCall_id`` or
``callBackCall_id`` (both spellings are in the docs; one is drawn per call); failed calls'
info is ``-32001 Data not found`` with ``"Call ended by timeout on side A"`` and the like;
``phone_A`` carries a literal ``+`` in the query, which decodes as a space.
Simulator inventions, where the doc is silent: a callBackURL with a scheme is refused in
``result``; an unknown ``customer_name`` is ``-32002 Permission denied``; info on a callback
still in progress is ``-32001`` with ``"Call in progress"``; the cost tariff.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from dialer.simulator.callback_plan import (
    CallbackEventPlan,
    CallbackPlan,
    DialItem,
    call_info_failure,
    call_info_struct,
    callback_events,
    choose_callback_plan,
)
from dialer.simulator.rpc import RpcError
from dialer.simulator.state import Simulator, play_in_time
from dialer.simulator.webhooks import Delivery, deliver

CALLBACK_CUSTOMER_NAME = "883140500000000"
"""The CallBack account the simulator accepts: the doc's example."""
_B_NUMBER = re.compile(r"\+?[0-9]{10,15}")
_REDIRECT_NUMBER = re.compile(r"\+?[0-9]{11}")
_SCHEME = re.compile(r"^[a-z]+://", re.IGNORECASE)
_RING_TYPES = {"ringall": False, "linerall": True, "lineral": True}


@dataclass(slots=True)
class CallbackCall:
    call_id: str
    b_number: str
    plan: CallbackPlan
    description: str
    ended: bool = False


@dataclass(slots=True)
class _Store:
    """Callbacks of one simulator, until its next reset (a reset replaces ``sim.stats``)."""

    stats: object
    calls: dict[str, CallbackCall] = field(default_factory=dict)


_STORES: weakref.WeakKeyDictionary[Simulator, _Store] = weakref.WeakKeyDictionary()


def callbacks_of(sim: Simulator) -> dict[str, CallbackCall]:
    """The callbacks placed since the simulator's last start or reset."""
    store = _STORES.get(sim)
    if store is None or store.stats is not sim.stats:
        store = _STORES[sim] = _Store(sim.stats)
    return store.calls


def make_callback_call(sim: Simulator, params: object) -> dict[str, object]:
    if not isinstance(params, Mapping):
        raise RpcError(-32602, "Invalid params", "params should be an object")
    if params.get("customer_name") != CALLBACK_CUSTOMER_NAME:
        raise RpcError(-32002, "Permission denied")
    b_number = params.get("b_number")
    if not isinstance(b_number, str) or not _B_NUMBER.fullmatch(b_number):
        return {"error": 1, "message": "Incorrect B-number format"}
    struct = params.get("simpleCallBackFollowmeStruct")
    if not isinstance(struct, list):
        # Without setCallBackFollowme (not simulated) there is no stored structure.
        raise RpcError(-32001, "Data not found", "Followme not found")
    agents = _dial_items(struct)
    if agents is None:
        return {"error": 1, "message": "Incorrect redirect_number format"}
    url = params.get("callBackURL", params.get("callbackURL"))
    if url is not None and (not isinstance(url, str) or _SCHEME.match(url) or not url):
        return {"error": 1, "message": "Incorrect callBackURL format"}
    busy = frozenset(
        c.plan.agent for c in callbacks_of(sim).values() if not c.ended and c.plan.agent
    )
    plan = choose_callback_plan(sim.outcome_rng, sim.config, b_number.lstrip("+"), agents, busy)
    call_id = sim.ids.uuid().replace("-", "")
    description = params.get("callDescription")
    call = CallbackCall(
        call_id, b_number, plan, description if isinstance(description, str) else ""
    )
    callbacks_of(sim)[call_id] = call
    sim.spawn(_play(sim, call, callback_events(plan, call_id), url))
    key = "callbackCall_id" if sim.fault_rng.random() < 0.5 else "callBackCall_id"
    return {key: call_id}


def get_callback_call_info(sim: Simulator, params: object) -> dict[str, object]:
    if not isinstance(params, Mapping):
        raise RpcError(-32602, "Invalid params", "params should be an object")
    if params.get("customer_name", CALLBACK_CUSTOMER_NAME) != CALLBACK_CUSTOMER_NAME:
        raise RpcError(-32002, "Permission denied")
    call = callbacks_of(sim).get(str(params.get("callBackCall_id", "")))
    if call is None:
        raise RpcError(-32001, "Data not found", "Call not found")
    if not call.ended:
        raise RpcError(-32001, "Data not found", "Call in progress")
    failure = call_info_failure(call.plan)
    if failure is not None:
        raise RpcError(-32001, "Data not found", failure)
    return {
        "callBackFollowmeCallInfoStruct": call_info_struct(
            call.plan, call.b_number, call.description
        )
    }


CALLBACK_METHODS: Mapping[str, Callable[[Simulator, object], dict[str, object]]] = {
    "makeCallBackCallFollowme": make_callback_call,
    "getCallBackFollowmeCallInfo": get_callback_call_info,
}


def event_url(callback_url: str, fields: Mapping[str, str]) -> str:
    """``http://<callBackURL>/event.php?...``; ``+`` in ``phone_A`` is left literal, as MTT's
    logged URLs show it (a receiver decodes it as a space)."""
    query = "&".join(f"{key}={quote(value, safe='+')}" for key, value in fields.items())
    return f"http://{callback_url.rstrip('/')}/event.php?{query}"


def _dial_items(struct: list[object]) -> list[DialItem] | None:
    """The agents of the structure; ``None`` when a redirect_number is malformed or none is
    given. Text and file items are skipped."""
    agents: list[DialItem] = []
    for item in struct:
        if not isinstance(item, Mapping) or "redirect_number" not in item:
            continue
        number = item.get("redirect_number")
        kind = str(item.get("type", "ringall")).lower()
        if not isinstance(number, str) or not _REDIRECT_NUMBER.fullmatch(number):
            return None
        timeout = item.get("timeout")
        seconds = timeout if isinstance(timeout, int) and timeout > 0 else 25
        agents.append(DialItem(number.lstrip("+"), seconds, _RING_TYPES.get(kind, False)))
    return agents or None


async def _play(
    sim: Simulator, call: CallbackCall, events: list[CallbackEventPlan], url: object
) -> None:
    """Send ``events`` as GETs to ``<url>/event.php`` at their (scaled) times."""

    async def step(index: int) -> None:
        if isinstance(url, str) and url:
            await deliver(sim, Delivery("GET", event_url(url, events[index].fields)))

    def end() -> None:
        call.ended = True

    await play_in_time(sim, [event.at for event in events], step, end)
