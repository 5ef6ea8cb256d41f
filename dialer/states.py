"""The state vocabularies of campaigns, contacts and attempts, and the outcome classes."""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class ContactStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RETRY_WAIT = "retry_wait"
    REACHED = "reached"
    NOT_REACHED = "not_reached"
    INVALID = "invalid"
    OPTED_OUT = "opted_out"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


FINAL_CONTACT_STATUSES = frozenset(
    {
        ContactStatus.REACHED,
        ContactStatus.NOT_REACHED,
        ContactStatus.INVALID,
        ContactStatus.OPTED_OUT,
        ContactStatus.SUPPRESSED,
        ContactStatus.CANCELLED,
    }
)
WAITING_CONTACT_STATUSES = frozenset({ContactStatus.PENDING, ContactStatus.RETRY_WAIT})


class AttemptStatus(StrEnum):
    QUEUED = "queued"
    """Row committed by the scheduler; a message carrying its id is (or will be) on the queue."""
    DIALING = "dialing"
    """Claimed by a worker (compare-and-set from queued); the HTTP request may be in flight."""
    SUBMITTED = "submitted"
    """The provider accepted it; waiting for the final event."""
    UNKNOWN = "unknown"
    """Sent, but no answer came back (or the worker died): waiting out late events."""
    COMPLETED = "completed"
    """A final event settled it (any outcome)."""
    FAILED = "failed"
    """The provider refused it; never reached the network."""
    CANCELLED = "cancelled"
    """Dropped before dialling (campaign paused/cancelled, gate closed): not a dial."""


LIVE_ATTEMPT_STATUSES = frozenset(
    {AttemptStatus.QUEUED, AttemptStatus.DIALING, AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN}
)


class Outcome(StrEnum):
    """One vocabulary of outcome classes for all providers (see DESIGN.md)."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    NETWORK = "network"
    PROVIDER_ERROR = "provider_error"
    UNKNOWN = "unknown"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    OPTED_OUT = "opted_out"
    CONNECTED = "connected"
    """Agent callback: the agent and the contact talked."""
    AGENT_NO_ANSWER = "agent_no_answer"
    """Agent callback: no agent took the call, so the contact was never rung."""
