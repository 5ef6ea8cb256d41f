"""Placing a simulated call: choose its fate, record it, play its events over time."""

from __future__ import annotations

from dialer.simulator.encoding import JSON_TYPE, encode_call_event, json_bytes, resolve_shape
from dialer.simulator.outcomes import choose_call_plan
from dialer.simulator.records import CallRecord, CallSpec
from dialer.simulator.state import Simulator, play_in_time
from dialer.simulator.timeline import TimelineEvent, build_call_timeline, shuffle_events
from dialer.simulator.webhooks import Delivery, deliver


def place_call(sim: Simulator, spec: CallSpec, call_id: str) -> CallRecord:
    """Accept ``spec``: count it, choose its outcome and schedule its events.

    Stats are recorded here, before the answer is written, so a call whose answer is later
    "lost" is still counted.
    """
    plan = choose_call_plan(sim.outcome_rng, sim.config, spec.b_number, spec.menu_actions())
    call = CallRecord(call_id, spec, plan, sim.now(), conf_id=sim.ids.conf_id())
    sim.calls[call_id] = call
    sim.stats.record_call(spec.b_number, spec.mess_id)
    timeline = build_call_timeline(call)
    call.duration = timeline.duration
    events = timeline.events
    if sim.fault_rng.random() < sim.faults.reorder_rate:
        events = shuffle_events(sim.fault_rng, events)
    sim.spawn(_play(sim, call, events))
    return call


async def _play(sim: Simulator, call: CallRecord, events: list[TimelineEvent]) -> None:
    """Deliver ``events`` one after another at their (scaled) times (see ``play_in_time``)."""

    async def step(index: int) -> None:
        delivery = _delivery(sim, events[index])
        if delivery is not None:
            await deliver(sim, delivery)

    await play_in_time(sim, [event.at for event in events], step, lambda: _end(sim, call))


def _end(sim: Simulator, call: CallRecord) -> None:
    if not call.ended:
        call.ended = True
        sim.stats.record_call_ended()


def _delivery(sim: Simulator, event: TimelineEvent) -> Delivery | None:
    url = event.url or sim.config.call_webhook_url
    if url is None:
        return None
    if not event.shaped:
        return Delivery("POST", url, json_bytes(event.payload), JSON_TYPE)
    shape = resolve_shape(sim.fault_rng, sim.config.event_shape)
    body = encode_call_event(event.payload, shape)
    return Delivery("POST", url, body.content, body.content_type)
