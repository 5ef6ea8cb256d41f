"""A faithful in-process MTT: sb-api (informer and IVR), msapi and the Telecom JSON-RPC.

It is to the dialer what Dramatiq's ``StubBroker`` is to Dramatiq: documented request
validation and error bodies, events in the documented formats and order, and injectable
faults (latency, 5xx/429, lost responses, duplicate/reordered/dropped webhooks, retries),
with truthful counters at ``GET /_sim/stats``. Start it with ``SimulatorServer(config)`` or
mount ``create_app(config)``.
"""

from dialer.simulator.app import create_app, simulator_of_app
from dialer.simulator.config import (
    AccountNumber,
    CallOutcome,
    Faults,
    OutcomeWeights,
    Override,
    SimulatorConfig,
    SmsWeights,
)
from dialer.simulator.server import SimulatorServer, serve

__all__ = [
    "AccountNumber",
    "CallOutcome",
    "Faults",
    "OutcomeWeights",
    "Override",
    "SimulatorConfig",
    "SimulatorServer",
    "SmsWeights",
    "create_app",
    "serve",
    "simulator_of_app",
]
