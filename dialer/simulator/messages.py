"""Simulated SMS: the message store, status progression and status/inbound events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from dialer.simulator.encoding import FORM_TYPE, sms_event_fields
from dialer.simulator.outcomes import choose_sms_final, sms_status_offsets
from dialer.simulator.records import MessageRecord
from dialer.simulator.state import Simulator
from dialer.simulator.webhooks import Delivery, deliver


def send_sms(
    sim: Simulator, sender: str, recipient: str, text: str, tag: str | None
) -> MessageRecord:
    """Accept an outbound message: count it, store it and schedule its status events
    (queued → prebilling → sent → delivered/undelivered/expired)."""
    message = MessageRecord(
        message_sid=sim.ids.message_sid(),
        direction="outbound",
        sender=sender,
        recipient=recipient,
        text=text,
        created_at=int(sim.now().timestamp()),
        status="queued",
        tag=tag,
    )
    sim.messages[message.message_sid] = message
    sim.stats.record_sms(recipient, tag)
    final = choose_sms_final(sim.outcome_rng, sim.config, recipient)
    offsets = sms_status_offsets(sim.outcome_rng, final)
    sim.spawn(_progress(sim, message, offsets))
    return message


def receive_sms(sim: Simulator, sender: str, recipient: str, text: str) -> MessageRecord:
    """An inbound message from ``sender`` to the account's ``recipient``, delivered at once
    as a ``direction=inbound, status=received`` event."""
    message = MessageRecord(
        message_sid=sim.ids.message_sid(),
        direction="inbound",
        sender=sender,
        recipient=recipient,
        text=text,
        created_at=int(sim.now().timestamp()),
        status="received",
    )
    sim.messages[message.message_sid] = message
    sim.stats.inbound_sms_total += 1
    delivery = _delivery(sim, message, "received")
    if delivery is not None:
        sim.spawn(_deliver_one(sim, delivery))
    return message


async def _deliver_one(sim: Simulator, delivery: Delivery) -> None:
    await deliver(sim, delivery)


async def _progress(
    sim: Simulator, message: MessageRecord, offsets: list[tuple[float, str]]
) -> None:
    """Move ``message`` through its statuses at their (scaled) times, sending one event per
    status; with ``reorder_rate`` the events' order is shuffled (the stored status is not)."""
    reported = [status for _, status in offsets]
    if sim.fault_rng.random() < sim.faults.reorder_rate:
        sim.fault_rng.shuffle(reported)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for (at, status), event_status in zip(offsets, reported, strict=True):
        delay = start + sim.scaled(at) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        message.status = status
        delivery = _delivery(sim, message, event_status)
        if delivery is not None:
            await deliver(sim, delivery)


def _delivery(sim: Simulator, message: MessageRecord, status: str) -> Delivery | None:
    url = sim.config.sms_webhook_url
    if url is None:
        return None
    fields = sms_event_fields(message, sim.config.account_sid, status)
    if sim.config.sms_webhook_method == "GET":
        separator = "&" if "?" in url else "?"
        return Delivery("GET", f"{url}{separator}{fields}")
    return Delivery("POST", url, fields.encode(), FORM_TYPE)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """The documented filters of ``GET .../messages``; ``None`` matches everything.

    ``number_sid`` is accepted but matches everything: the docs never show a number's sid.
    """

    message_sid: str | None = None
    number: str | None = None
    external_number: str | None = None
    number_sid: str | None = None
    direction: str | None = None
    status: str | None = None

    def matches(self, message: MessageRecord) -> bool:
        wanted = (
            (self.message_sid, message.message_sid),
            (self.number, message.own_number),
            (self.external_number, message.external_number),
            (self.direction, message.direction),
            (self.status, message.status),
        )
        return all(expected is None or expected == actual for expected, actual in wanted)


def select_messages(messages: Iterable[MessageRecord], query: MessageQuery) -> list[MessageRecord]:
    """Messages matching ``query``, newest first."""
    return [message for message in reversed(list(messages)) if query.matches(message)]
