"""The channels, by name: the one list to extend when a channel is added.

``channel_for("ivr")`` answers everything the engine asks about a channel (see
``dialer.channels.base.Channel``).
"""

from __future__ import annotations

from functools import cache

from dialer.channels.base import Channel, Hook
from dialer.channels.callback import CallbackChannel
from dialer.channels.calls import IvrChannel, TtsChannel
from dialer.channels.sms import SmsChannel
from dialer.providers.base import EventKind

CHANNELS: dict[str, Channel] = {
    channel.name: channel
    for channel in (TtsChannel(), IvrChannel(), SmsChannel(), CallbackChannel())
}


class UnknownChannelError(LookupError):
    pass


def channel_for(name: str) -> Channel:
    """The channel called ``name``; ``UnknownChannelError`` for any other name (a database
    row written by a newer version)."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise UnknownChannelError(f"unknown channel {name!r}") from None


@cache
def hooks() -> tuple[Hook, ...]:
    """Every webhook route, once each (channels on one API share theirs)."""
    seen: dict[str, Hook] = {}
    for channel in CHANNELS.values():
        for hook in channel.all_hooks():
            seen.setdefault(hook.path, hook)
    return tuple(seen.values())


@cache
def owner_of(kind: EventKind) -> Channel:
    """The channel whose webhooks produce events of ``kind``."""
    for channel in CHANNELS.values():
        if kind in channel.event_kinds:
            return channel
    raise UnknownChannelError(f"no channel produces {kind.value!r} events")


@cache
def actors() -> tuple[tuple[str, str], ...]:
    """``(actor name, queue name)`` of every channel, once each."""
    return tuple(dict.fromkeys((c.actor, c.queue) for c in CHANNELS.values()))


__all__ = [
    "CHANNELS",
    "Channel",
    "UnknownChannelError",
    "actors",
    "channel_for",
    "hooks",
    "owner_of",
]
