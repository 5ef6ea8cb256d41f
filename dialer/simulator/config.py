"""Configuration of the built-in MTT simulator: accounts, outcome odds, overrides and faults.

Times are simulated seconds unless a name says otherwise; ``speed`` divides every simulated
duration (ringing, listening, SMS delivery, webhook retry backoff) into real time. HTTP-level
faults (latency, lost-response hold) are real time, because they exist to exercise the client's
real timeouts.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from dialer.simulator.mtt_business_account import MttBusinessAccount

_N = TypeVar("_N", int, float)


def _check_range(value: tuple[_N, _N]) -> tuple[_N, _N]:
    low, high = value
    if low < 0 or high < low:
        raise ValueError(f"range must satisfy 0 <= low <= high, got {value}")
    return value


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
SecondsRange = Annotated[tuple[int, int], AfterValidator(_check_range)]
"""An inclusive ``(low, high)`` range of whole seconds."""
MillisecondsRange = Annotated[tuple[float, float], AfterValidator(_check_range)]

ELEVEN_DIGITS = r"^[0-9]{11}$"

SmsFinalStatus = Literal["delivered", "undelivered", "expired"]
EventShape = Literal["json", "kv", "data", "mixed"]
"""How informer (non-IVR) call events are encoded: a JSON object, a ``k=v&...`` form body,
``{"data": "k=v&..."}``, or a random one of those per event."""


class CallOutcome(StrEnum):
    """What happens to a simulated call; each maps to Q.850 causes in ``outcomes``."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ABSENT = "absent"
    UNALLOCATED = "unallocated"
    NETWORK = "network"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountNumber(_Model):
    """One msapi account number; only ``OUT`` numbers may be used as a sender."""

    number: str = Field(pattern=ELEVEN_DIGITS)
    direction: Literal["OUT", "IN"] = "OUT"


class Override(_Model):
    """A deterministic fate for one 11-digit number.

    ``None`` for ``cause``, ``ring_seconds``, ``listen_seconds`` and ``transfer_seconds``
    means "draw as usual"; ``dtmf=None`` means the subscriber presses nothing (IVR calls);
    ``sms_status=None`` draws the SMS final status from ``sms_weights``. An override fixes
    calls too: one that only sets ``sms_status`` makes calls to the number answered.
    """

    outcome: CallOutcome = CallOutcome.ANSWERED
    cause: int | None = Field(default=None, ge=0)
    ring_seconds: float | None = Field(default=None, ge=0)
    listen_seconds: int | None = Field(default=None, ge=0)
    dtmf: int | None = Field(default=None, ge=1, le=9)
    transfer_seconds: int | None = Field(default=None, ge=0)
    sms_status: SmsFinalStatus | None = None


class OutcomeWeights(_Model):
    """Relative weights of call outcomes (they need not sum to 1)."""

    answered: float = Field(default=0.6, ge=0)
    busy: float = Field(default=0.1, ge=0)
    no_answer: float = Field(default=0.15, ge=0)
    absent: float = Field(default=0.08, ge=0)
    unallocated: float = Field(default=0.02, ge=0)
    network: float = Field(default=0.05, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> OutcomeWeights:
        if sum(self.as_mapping().values()) <= 0:
            raise ValueError("at least one outcome weight must be positive")
        return self

    def as_mapping(self) -> dict[CallOutcome, float]:
        return {outcome: float(getattr(self, outcome.value)) for outcome in CallOutcome}


class SmsWeights(_Model):
    """Relative weights of an outbound SMS's final status."""

    delivered: float = Field(default=0.92, ge=0)
    undelivered: float = Field(default=0.05, ge=0)
    expired: float = Field(default=0.03, ge=0)

    def as_mapping(self) -> dict[SmsFinalStatus, float]:
        return {
            "delivered": self.delivered,
            "undelivered": self.undelivered,
            "expired": self.expired,
        }


class Faults(_Model):
    """Misbehaviour to inject; replaceable at runtime through ``POST /_sim/faults``.

    Request faults apply to sb-api, msapi and the JSON-RPC endpoint, never to ``/_sim``.
    Webhook faults apply to every event the simulator sends.
    """

    latency_ms: MillisecondsRange = (0.0, 0.0)
    """Extra delay before each API request is handled, drawn uniformly, real milliseconds."""
    error_5xx_rate: Probability = 0.0
    """Share of API requests answered 500/502/503/504 without being processed."""
    error_429_rate: Probability = 0.0
    """Share of API requests answered 429 without being processed."""
    lost_response_rate: Probability = 0.0
    """Share of successful requests that are processed but whose answer is held back."""
    lost_response_hold_s: float = Field(default=30.0, ge=0)
    """How long a "lost" answer is held, real seconds (longer than the client's read timeout)."""
    duplicate_rate: Probability = 0.0
    """Share of delivered webhook events that are delivered a second time."""
    reorder_rate: Probability = 0.0
    """Share of calls/messages whose events are delivered in a shuffled order."""
    drop_rate: Probability = 0.0
    """Share of webhook events never sent."""
    webhook_max_tries: int = Field(default=10, ge=1)
    """Delivery attempts per event while the receiver answers 5xx/429 or is unreachable."""
    webhook_retry_initial_s: float = Field(default=0.5, ge=0)
    """First retry delay, simulated seconds; doubles per try up to ``webhook_retry_max_s``."""
    webhook_retry_max_s: float = Field(default=10.0, ge=0)
    """Largest retry delay, simulated seconds (10 tries span about 55 s at speed 1)."""
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    """Per-attempt timeout of a webhook delivery, real seconds."""


class Bitrix24Line(_Model):
    """One telephony line of the simulated Bitrix24 portal (a ``FROM_LINE``): its queue
    rings the employee ``user_id``. ``agent_answers`` decides whether they pick up a
    callback: ``None`` draws (15 % miss, like MTT's agents); an employee already on a
    callback never picks up another."""

    name: str = "Cloud PBX"
    user_id: int = Field(default=1, ge=1)
    agent_answers: bool | None = None


def _default_bitrix24_lines() -> dict[str, Bitrix24Line]:
    # The reference's example line and the ids voximplant.line.get's example lists.
    return {
        "reg1332": Bitrix24Line(name="Cloud PBX", user_id=1),
        "reg151083": Bitrix24Line(name="Cloud PBX (9)", user_id=9),
        "sip7": Bitrix24Line(name="Office PBX 1", user_id=7),
    }


def _default_numbers() -> list[AccountNumber]:
    return [
        AccountNumber(number="79587625012", direction="OUT"),
        AccountNumber(number="79587625013", direction="IN"),
    ]


class SimulatorConfig(_Model):
    """Everything the simulated MTT account knows. Defaults give a working sandbox."""

    login: str = "sim-login"
    """Basic auth user for sb-api and the Telecom JSON-RPC."""
    password: SecretStr = SecretStr("sim-password")
    sip_id: str = Field(default="74996480000", pattern=ELEVEN_DIGITS)
    informer_method: str = "informer"
    """The informer ``method`` name MTT assigns at activation."""
    customer_name: str = "110000000"
    balance: float = 1000.0
    """Roubles, as returned by ``getCustomerBalance``."""

    account_sid: str = "acc00000000-0000-4000-8000-000000000000"
    token: SecretStr = SecretStr("sim-token")
    numbers: list[AccountNumber] = Field(default_factory=_default_numbers)

    call_webhook_url: str | None = None
    """Where sb-api o_/h_/transfer events go (MTT configures it out of band)."""
    sms_webhook_url: str | None = None
    sms_webhook_method: Literal["POST", "GET"] = "POST"
    mtt_business_webhook_url: str | None = None
    """Where MTT Business call notifications go (the integration's Redirect URI)."""
    mtt_business: MttBusinessAccount = Field(default_factory=MttBusinessAccount)

    uis_webhook_url: str | None = None
    """Where UIS notifications go (set up in the UIS account, not per call)."""
    uis_webhook_method: Literal["POST", "GET"] = "POST"
    uis_login: str = "sim-uis-login"
    """A UIS user with Call API access (``login.user``)."""
    uis_password: SecretStr = SecretStr("sim-uis-password")
    uis_access_token: SecretStr = SecretStr("sim-uis-key")
    """The account's permanent Call API key."""
    uis_session_ttl_s: float = Field(default=3600.0, gt=0)
    """Lifetime of a ``login.user`` session key, real seconds (UIS: 1 hour)."""
    uis_virtual_numbers: list[str] = Field(default_factory=lambda: ["74993720692"])
    """The account's virtual numbers (the doc's example by default)."""
    uis_blacklist: list[str] = Field(default_factory=list)
    """Numbers in the account's blacklist: ``contact_in_blacklist``."""
    uis_tts_max_length: int = Field(default=1000, ge=1)
    """Longest TTS message the tariff allows, characters."""
    uis_calls_per_minute: int | None = Field(default=None, gt=0)
    """``start.simple_call`` accepted per sliding minute; more get ``limit_exceeded``."""

    bitrix24_webhook_url: str | None = None
    """Where the portal's outbound webhook POSTs the OnVoximplantCall* events (set in the
    portal once, not per call)."""
    bitrix24_user_id: int = Field(default=1, ge=1)
    bitrix24_webhook_code: SecretStr = SecretStr("sim0bitrix24code")
    """The inbound webhook: ``/rest/<bitrix24_user_id>/<bitrix24_webhook_code>/<method>``."""
    bitrix24_application_token: SecretStr = SecretStr("sim-bitrix24-application-token")
    """Sent as ``auth[application_token]`` with every event."""
    bitrix24_lines: dict[str, Bitrix24Line] = Field(default_factory=_default_bitrix24_lines)
    bitrix24_query_limit: tuple[float, int] = (2.0, 50)
    """The REST leaky bucket: drained by the first number per second, requests past the
    second answered 503 ``QUERY_LIMIT_EXCEEDED`` (the docs' "Others" plan; Enterprise is
    ``(5, 250)``)."""

    speed: float = Field(default=1.0, gt=0)
    """Time scale: 1.0 is real time, 100 runs simulated durations 100 times faster."""
    seed: int | None = None
    """Seed of the simulator's random choices; ``None`` differs on every start."""

    outcome_weights: OutcomeWeights = Field(default_factory=OutcomeWeights)
    listen_seconds: SecondsRange = (3, 40)
    """How long an answering subscriber listens to the message, seconds."""
    dtmf_weights: dict[str, float] = Field(
        default_factory=lambda: {"1": 0.35, "2": 0.2, "3": 0.1, "none": 0.35}
    )
    """Relative odds of the digit an IVR subscriber presses; ``"none"`` is no choice."""
    transfer_seconds: SecondsRange = (10, 180)
    """Talk time on a transferred call leg, seconds."""
    sms_weights: SmsWeights = Field(default_factory=SmsWeights)
    overrides: dict[str, Override] = Field(default_factory=dict)
    """Deterministic outcomes keyed by 11-digit number."""

    rps_limit: int | None = Field(default=None, gt=0)
    """Requests per sliding second accepted per API (sb-api, msapi, JSON-RPC); more get 429."""
    allow_http_notify: bool = False
    """Accept ``http://`` IVR notify URLs (real MTT demands https)."""
    event_shape: EventShape = "json"
    faults: Faults = Field(default_factory=Faults)

    @field_validator("dtmf_weights")
    @classmethod
    def _dtmf_keys(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = {str(digit) for digit in range(1, 10)} | {"none"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"dtmf_weights keys must be '1'..'9' or 'none', got {unknown}")
        if any(weight < 0 for weight in value.values()) or sum(value.values()) <= 0:
            raise ValueError("dtmf_weights must be non-negative with a positive sum")
        return value

    @field_validator("overrides")
    @classmethod
    def _override_keys(cls, value: dict[str, Override]) -> dict[str, Override]:
        bad = [number for number in value if not re.fullmatch(r"[0-9]{5,20}", number)]
        if bad:
            raise ValueError(
                f"override keys must be numbers (11 digits) or workplace SIP IDs, got {bad}"
            )
        return value

    def out_numbers(self) -> set[str]:
        """The account's numbers that may send SMS."""
        return {entry.number for entry in self.numbers if entry.direction == "OUT"}
