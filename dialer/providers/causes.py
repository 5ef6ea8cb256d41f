"""ITU-T Q.850 release causes, as sb-api reports them in ``h_<number>_<cause>_<duration>``
and the Telecom API in ``disconnect_cause``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

Q850_CAUSES: Mapping[int, str] = MappingProxyType(
    {
        1: "unallocated number",
        2: "no route to specified transit network",
        3: "no route to destination",
        4: "send special information tone",
        5: "misdialled trunk prefix",
        6: "channel unacceptable",
        7: "call awarded in an established channel",
        8: "preemption",
        9: "preemption, circuit reserved for reuse",
        14: "number ported, query on release",
        16: "normal clearing",
        17: "user busy",
        18: "no user responding",
        19: "no answer",
        20: "subscriber absent",
        21: "call rejected",
        22: "number changed",
        23: "redirection to new destination",
        25: "exchange routing error",
        26: "non-selected user clearing",
        27: "destination out of order",
        28: "invalid number format",
        29: "facility rejected",
        30: "response to status enquiry",
        31: "normal, unspecified",
        34: "no circuit available",
        38: "network out of order",
        39: "permanent frame mode connection out of service",
        40: "permanent frame mode connection operational",
        41: "temporary failure",
        42: "switching equipment congestion",
        43: "access information discarded",
        44: "requested channel not available",
        46: "precedence call blocked",
        47: "resource unavailable",
        49: "quality of service not available",
        50: "requested facility not subscribed",
        53: "outgoing calls barred within CUG",
        55: "incoming calls barred within CUG",
        57: "bearer capability not authorized",
        58: "bearer capability not presently available",
        62: "inconsistent outgoing access and subscriber class",
        63: "service or option not available",
        65: "bearer capability not implemented",
        66: "channel type not implemented",
        69: "requested facility not implemented",
        70: "only restricted digital bearer capability available",
        79: "service or option not implemented",
        81: "invalid call reference value",
        82: "identified channel does not exist",
        83: "suspended call exists, call identity does not",
        84: "call identity in use",
        85: "no call suspended",
        86: "call with requested identity has been cleared",
        87: "user not member of CUG",
        88: "incompatible destination",
        90: "non-existent CUG",
        91: "invalid transit network selection",
        95: "invalid message, unspecified",
        96: "mandatory information element missing",
        97: "message type non-existent or not implemented",
        98: "message not compatible with call state or not implemented",
        99: "information element non-existent or not implemented",
        100: "invalid information element contents",
        101: "message not compatible with call state",
        102: "recovery on timer expiry",
        103: "parameter non-existent or not implemented, passed on",
        110: "message with unrecognized parameter discarded",
        111: "protocol error, unspecified",
        127: "interworking, unspecified",
    }
)


def cause_text(code: int | None) -> str:
    """Short English text for a Q.850 cause: ``17`` -> ``"user busy"``; a code outside the
    table -> ``"cause 200"``; ``None`` (no cause reported) -> ``""``."""
    if code is None:
        return ""
    return Q850_CAUSES.get(code, f"cause {code}")
