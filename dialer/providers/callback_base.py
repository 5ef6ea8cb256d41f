"""What every agent-callback provider takes and does: one ``CallbackRequest`` in, MTT's (or
UIS's, Bitrix24's...) call id out, and, where the provider has one, the call's result.

The providers (``mtt_callback``, and the others as they come) subclass ``CallbackClient``;
the callback channel (``dialer.channels.callback``) picks one by the campaign's
``[callback] provider``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal

from dialer.providers.base import Submitted
from dialer.providers.mtt_callback_answers import CallbackCallInfo

RingMode = Literal["all", "sequence"]


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One callback: ring ``agents`` (side A), then call ``contact`` (side B).

    ``agent_timeout`` and ``max_talk`` are in seconds; ``max_talk`` bounds side A plus side B.
    ``whisper`` is spoken to the agent who answers; ``contact_message`` (optional) to the
    contact. ``callback_url`` is where MTT sends events, with or without scheme and with or
    without the final ``event.php``. ``description`` comes back in the call info
    (``callDescription``): we put the attempt id there.
    """

    contact: str
    agents: tuple[str, ...]
    whisper: str
    callback_url: str
    ring: RingMode = "all"
    agent_timeout: int = 20
    contact_message: str | None = None
    caller_id: str | None = None
    record: bool = False
    max_talk: int | None = None
    description: str | None = None


def agent_in_turn(request: CallbackRequest) -> str:
    """The one agent to ring, for a provider whose call takes a single agent (UIS's
    ``operator``, MTT Business's ``callerId``): the agents take turns by attempt id
    (``description``), so a campaign's live callbacks spread over its agents in every worker
    without shared state, and a contact tried again is likely offered to another agent."""
    if not request.agents:
        raise ValueError("a callback needs at least one agent")
    reference = (request.description or "").strip()
    index = int(reference) % len(request.agents) if reference.isdigit() else 0
    return request.agents[index]


class CallbackClient(abc.ABC):
    """One provider's agent-callback API over a pooled connection."""

    reads_results: bool = False
    """Whether ``callback_result`` asks the provider; without it the events decide."""

    @abc.abstractmethod
    async def place_callback(self, request: CallbackRequest) -> Submitted:
        """Place the callback once. Raises a ``ProviderError`` subclass on failure."""

    async def callback_result(self, call_id: str) -> CallbackCallInfo | None:
        """The result of a callback that is over, or ``None`` when the provider has no
        such method. Raises ``ProviderError`` when it cannot be read."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections."""
