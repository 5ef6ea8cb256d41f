"""The simulator's Starlette application: every route, and a lifespan that owns the webhook
client and cancels pending events on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from dialer.simulator import control
from dialer.simulator.bitrix24 import REST_PATH, rest_endpoint
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.faults import gated
from dialer.simulator.msapi import message_endpoint, messages_endpoint, numbers_endpoint
from dialer.simulator.mtt_business import routes as mtt_business_routes
from dialer.simulator.sbapi import sb_endpoint
from dialer.simulator.state import Simulator
from dialer.simulator.telecom import telecom_endpoint
from dialer.simulator.uis import uis_endpoint

ACCOUNT = "/v2/accounts/{account_sid}"


def create_app(
    config: SimulatorConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """A simulated MTT: sb-api ``POST /v1/sb``, msapi under ``/v2/accounts/{sid}/``, the
    Telecom JSON-RPC ``POST /index.php`` and the ``/_sim/`` control endpoints.

    ``webhook_transport`` replaces the network for outgoing events (tests).
    """
    simulator = Simulator(config, webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await simulator.aclose()

    routes = [
        Route("/v1/sb", gated("sb", sb_endpoint), methods=["POST"]),
        Route(f"{ACCOUNT}/numbers", gated("msapi", numbers_endpoint), methods=["GET"]),
        Route(f"{ACCOUNT}/messages", gated("msapi", messages_endpoint), methods=["GET", "POST"]),
        Route(
            f"{ACCOUNT}/messages/{{message_sid}}",
            gated("msapi", message_endpoint),
            methods=["GET"],
        ),
        Route("/index.php", gated("telecom", telecom_endpoint), methods=["POST"]),
        Route("/uis/v4.0", gated("uis", uis_endpoint), methods=["POST"]),
        Route(REST_PATH, gated("bitrix24", rest_endpoint), methods=["GET", "POST"]),
        Route("/_sim/stats", control.stats_endpoint, methods=["GET"]),
        Route("/_sim/reset", control.reset_endpoint, methods=["POST"]),
        Route("/_sim/faults", control.faults_endpoint, methods=["GET", "POST"]),
        Route("/_sim/inbound-sms", control.inbound_sms_endpoint, methods=["POST"]),
        Route("/_sim/calls", control.calls_endpoint, methods=["GET"]),
        *mtt_business_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.simulator = simulator
    return app


def simulator_of_app(app: Starlette) -> Simulator:
    """The in-memory state behind an app made by ``create_app`` (for embedding and tests)."""
    return cast(Simulator, app.state.simulator)
