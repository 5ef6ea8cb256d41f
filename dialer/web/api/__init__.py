"""``/api/v1``: JSON over HTTP for a CRM, a data pipeline or the console's own scripts.

Each route is a few lines around the service function its CLI command calls, so the two
never disagree; errors are the CLI's one line with the status ``dialer.web.errors`` gives.
"""

from __future__ import annotations

from fastapi import APIRouter

from dialer.web.api import campaigns, contacts, dnc, results, users


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (campaigns, contacts, results, dnc, users):
        router.include_router(module.router)
    return router
