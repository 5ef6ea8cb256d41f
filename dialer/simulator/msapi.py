"""msapi under ``/v2/accounts/{account_sid}/``: numbers, sending and reading messages.

Error bodies have the documented shape ``{"status_code", "request_id", "error"}``; only
``Invalid params: text shouldn't be empty`` is documented, the other texts are ours.
Pages are numbered from 1 as in the docs' examples (their table says from 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.httputil import credentials_match, json_response, read_json, simulator_of
from dialer.simulator.messages import MessageQuery, select_messages, send_sms
from dialer.simulator.sbvalidate import e164
from dialer.simulator.state import Simulator

PAGE_LIMIT = 20
"""Default and largest page size."""


def _error(sim: Simulator, status_code: int, error: str) -> Response:
    document = {"status_code": status_code, "request_id": sim.ids.uuid(), "error": error}
    return json_response(document, status_code)


def _refuse_account(request: Request, sim: Simulator) -> Response | None:
    """401 for wrong Basic credentials, 403 for another account's sid in the path."""
    config = sim.config
    if not credentials_match(request, config.account_sid, config.token):
        return _error(sim, 401, "Unauthorized")
    if request.path_params["account_sid"] != config.account_sid:
        return _error(sim, 403, "Forbidden")
    return None


def _paging(request: Request) -> tuple[int, int] | str:
    """``(limit, offset)`` from the query, or the error text. ``limit`` is capped at 20."""
    try:
        limit = int(request.query_params.get("limit", PAGE_LIMIT))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        return "Invalid params: limit and offset should be integers"
    if limit < 1 or offset < 0:
        return "Invalid params: limit should be positive and offset non-negative"
    return min(limit, PAGE_LIMIT), offset


def _page(
    request: Request, key: str, items: Sequence[Mapping[str, object]], limit: int, offset: int
) -> dict[str, object]:
    """The documented page: ``page, total, limit, offset, prev, next, <key>``; ``prev`` and
    ``next`` are absolute URIs, empty at the ends."""
    total = len(items)
    next_uri = prev_uri = ""
    if offset + limit < total:
        next_uri = str(request.url.include_query_params(limit=limit, offset=offset + limit))
    if offset > 0:
        prev_offset = max(offset - limit, 0)
        prev_uri = str(request.url.include_query_params(limit=limit, offset=prev_offset))
    return {
        "page": offset // limit + 1,
        "total": total,
        "limit": limit,
        "offset": offset,
        "prev": prev_uri,
        "next": next_uri,
        key: list(items[offset : offset + limit]),
    }


async def numbers_endpoint(request: Request) -> Response:
    """``GET numbers?limit&offset``: the account's numbers and their directions."""
    sim = simulator_of(request)
    if (refusal := _refuse_account(request, sim)) is not None:
        return refusal
    paging = _paging(request)
    if isinstance(paging, str):
        return _error(sim, 400, paging)
    numbers = [entry.model_dump() for entry in sim.config.numbers]
    return json_response(_page(request, "numbers", numbers, *paging))


async def messages_endpoint(request: Request) -> Response:
    """``POST messages`` sends an SMS; ``GET messages`` lists them with filters."""
    sim = simulator_of(request)
    if (refusal := _refuse_account(request, sim)) is not None:
        return refusal
    if request.method == "POST":
        return await _send(request, sim)
    paging = _paging(request)
    if isinstance(paging, str):
        return _error(sim, 400, paging)
    params = request.query_params
    query = MessageQuery(**{name: params.get(name) for name in MessageQuery.__dataclass_fields__})
    found = select_messages(sim.messages.values(), query)
    listing = [message.listing(sim.config.account_sid) for message in found]
    return json_response(_page(request, "messages", listing, *paging))


async def message_endpoint(request: Request) -> Response:
    """``GET messages/{message_sid}``: one message in a one-item page, or 404."""
    sim = simulator_of(request)
    if (refusal := _refuse_account(request, sim)) is not None:
        return refusal
    message = sim.messages.get(request.path_params["message_sid"])
    if message is None:
        return _error(sim, 404, "Message not found")
    listing = [message.listing(sim.config.account_sid)]
    return json_response(_page(request, "messages", listing, PAGE_LIMIT, 0))


async def _send(request: Request, sim: Simulator) -> Response:
    parsed, body = await read_json(request)
    checked = _checked_message(body, sim) if parsed else "Invalid params: body should be JSON"
    if isinstance(checked, str):
        sim.stats.sms_refused += 1
        return _error(sim, 400, checked)
    message = send_sms(sim, *checked)
    uri = f"/v2/accounts/{sim.config.account_sid}/messages/{message.message_sid}"
    return json_response({"status_code": 201, "status_message": "CREATED", "uri": uri}, 201)


def _checked_message(body: object, sim: Simulator) -> tuple[str, str, str, str | None] | str:
    """``(from, to, text, tag)`` of a valid send request, else the error text."""
    if not isinstance(body, Mapping):
        return "Invalid params: body should be a JSON object"
    sender, recipient, text, tag = (body.get(key) for key in ("from", "to", "text", "tag"))
    if not isinstance(sender, str) or sender not in sim.config.out_numbers():
        return "Invalid params: from is not an outgoing number of the account"
    to = e164(recipient)
    if to is None:
        return "Invalid params: to should be in e164 format"
    if not isinstance(text, str) or not text:
        return "Invalid params: text shouldn't be empty"
    if tag is not None and not isinstance(tag, str):
        return "Invalid params: tag should be a string"
    return sender, to, text, tag
