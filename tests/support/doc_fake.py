"""An independent fake of MTT sb-api (informer + ivr-api) and msapi, written from the
provider documentation only (``mtt-telecom-api.txt``: sb-api/ivr-api, msapi send, message
list, numbers and event notifications). It shares no code with ``dialer.simulator`` on
purpose: it is the second opinion on what MTT sends.

Every answer and every event is the documentation's example text, with only the ids
(``id``/``messId``, ``CallID``, ``message_sid``), the numbers and ``date_time`` replaced by the
values of the actual request. Event timestamps keep the documented offsets between events
(including the general IVR example's main ``h_`` stamped *before* the transfer events).

Call events are posted, in the documented order, to ``call_webhook_url``; ``n_`` notify
events to the ``value`` URL of the request's ``notify`` dtmf option, as ivr-api does.
``event_shape`` picks how each event is written:

* ``json``: the IVR section's JSON objects;
* ``kv``: the informer section's bare ``date_time=...&id=...&CallID=...&event=...`` string;
* ``braced``: the informer examples' ``{"date_time=...&event=..."}`` (not valid JSON);
* ``data``: the informer example's ``{"data":{"date_time=...&event=..."}}`` (not valid JSON).

SMS status events are form-encoded (``application/x-www-form-urlencoded``), fields in the
documentation's order, posted to ``sms_webhook_url``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Shape = Literal["json", "kv", "braced", "data"]
SHAPES: tuple[Shape, ...] = ("json", "kv", "braced", "data")
CallKind = Literal["answered", "busy", "unreachable", "transfer", "notify", "no_choice"]

MOSCOW = ZoneInfo("Europe/Moscow")
ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
# sb-api request fields by section (informer table; ivr-api table + its example's lang_code).
INFORMER_FIELDS = frozenset(
    {
        "b_number",
        "sip_id",
        "messId",
        "messText",
        "a_number",
        "langCode",
        "voice_name",
        "emotion",
        "speed_speech",
    }
)
IVR_FIELDS = INFORMER_FIELDS | {"lang_code", "dtmf"}
DTMF_FIELDS = frozenset({"dtmf_id", "type", "value"})


@dataclass(frozen=True)
class CallScenario:
    """What happens to a call to one ``b_number``. ``duration`` is the main leg's ``h_``
    duration (seconds); ``digit`` the menu choice for ``transfer`` / ``notify``."""

    kind: CallKind
    duration: int = 4
    digit: int = 1


@dataclass
class SentEvent:
    url: str
    body: str
    content_type: str
    status: int


@dataclass
class DocFake:
    """The fake's configuration and everything it saw. Set ``call_webhook_url`` and
    ``sms_webhook_url`` before any request arrives."""

    event_shape: Shape = "json"
    call_webhook_url: str = ""
    sms_webhook_url: str = ""
    calls: dict[str, CallScenario] = field(default_factory=dict)
    """``b_number`` -> scenario; unknown numbers are answered (``h_<b>_16_4``)."""
    sms_final: dict[str, str] = field(default_factory=dict)
    """``to`` -> last status (``delivered`` unless listed, e.g. ``undelivered``)."""
    sip_id: str = "74996489150"
    informer_method: str = "informer"
    account_sid: str = "accefd5c385-f2aa-3dd4-9c0b-01abf00ccfe"
    out_number: str = "79587625004"
    allow_http_notify: bool = True
    """The docs want https notify URLs; the dialer's sandbox mode sends plain http."""
    event_gap: float = 0.02
    """Seconds between two posted events (their order is the documented one)."""

    call_requests: list[dict[str, Any]] = field(default_factory=list)
    sms_requests: list[dict[str, Any]] = field(default_factory=list)
    calls_by_number: Counter[str] = field(default_factory=Counter)
    sms_by_to: Counter[str] = field(default_factory=Counter)
    messages: list[dict[str, Any]] = field(default_factory=list)
    """What ``GET .../messages`` lists, newest first."""
    refused: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    auth: set[str] = field(default_factory=set)
    sent: list[SentEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    # -- the app ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            self._client = httpx.AsyncClient(timeout=10)
            try:
                yield
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                await self._client.aclose()

        routes = [
            Route("/v1/sb", self._sb, methods=["POST"]),
            Route("/v2/accounts/{sid}/messages", self._send_sms, methods=["POST"]),
            Route("/v2/accounts/{sid}/messages", self._list_messages, methods=["GET"]),
            Route("/v2/accounts/{sid}/numbers", self._numbers, methods=["GET"]),
            Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
        return Starlette(routes=routes, lifespan=lifespan)

    def pending(self) -> int:
        """Event sequences still being posted."""
        return len(self._tasks)

    async def _other(self, request: Request) -> Response:
        with self._lock:
            self.unexpected.append(f"{request.method} {request.url.path}")
        return Response(status_code=404)

    # -- sb-api ----------------------------------------------------------------------------

    async def _sb(self, request: Request) -> Response:
        self._note_auth(request)
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except ValueError:
            return self._refuse("unparseable", {"message": "access forbidden"})
        with self._lock:
            self.call_requests.append(payload)
        method = payload.get("method")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        call_id = secrets.token_hex(8)
        mess_id = data.get("messId")
        if method not in (self.informer_method, "ivr-api"):
            return self._refuse(f"method {method!r}", {"message": "access forbidden"})
        if not mess_id:
            body = {
                "result": {"success": 0, "error": '"messId" not found in request body'},
                "id": call_id,
            }
            return self._refuse("no messId", body)
        b_number = str(data.get("b_number", ""))
        with self._lock:
            self.calls_by_number[b_number] += 1
        error = self._sb_error(method, data)
        if error == "Forbidden":
            text = (
                '{\n  {\n    "result": {\n      "success": 0,\n      "error": "Forbidden"\n'
                f'    }},\n    "id": "{mess_id}",\n    "CallID": "{call_id}"\n  }}\n}}'
            )
            with self._lock:
                self.refused.append("sip_id")
            return Response(text, media_type="application/json")
        if error:
            body = {"result": {"success": 0, "error": error}, "id": mess_id, "CallID": call_id}
            return self._refuse(error, body)
        scenario = self.calls.get(b_number, CallScenario("answered"))
        events = self._call_events(scenario, data, str(mess_id), call_id)
        self._spawn(self._post_calls(events))
        return JSONResponse({"result": {"success": 1}, "id": mess_id, "CallID": call_id})

    def _sb_error(self, method: str, data: dict[str, Any]) -> str | None:
        if data.get("sip_id") != self.sip_id:
            return "Forbidden"
        if not ELEVEN_DIGITS.fullmatch(str(data.get("b_number", ""))):
            return '"b_number" should be in e164 format'
        a_number = data.get("a_number")
        if (method == "ivr-api" or a_number is not None) and not ELEVEN_DIGITS.fullmatch(
            str(a_number or "")
        ):
            return '"a_number" should be in e164 format'
        for option in self._dtmf_options(data):
            if option.get("type") == "notify":
                schemes = ("https://", "http://") if self.allow_http_notify else ("https://",)
                if not str(option.get("value", "")).startswith(schemes):
                    return '"notify" value is not allowed'
        return None

    @staticmethod
    def _dtmf_options(data: dict[str, Any]) -> list[dict[str, Any]]:
        options = data.get("dtmf")
        return options if isinstance(options, list) else []

    def _refuse(self, reason: str, body: dict[str, Any]) -> Response:
        with self._lock:
            self.refused.append(reason)
        return JSONResponse(body)

    def _call_events(
        self, scenario: CallScenario, data: dict[str, Any], mess_id: str, call_id: str
    ) -> list[tuple[str, dict[str, str]]]:
        """(url, fields) in the documented order; ``date_time`` keeps the documented offsets
        (seconds) from the request."""
        b = str(data["b_number"])
        start = datetime.now(MOSCOW)
        hook = self.call_webhook_url

        def event(offset: int, name: str, **extra: str) -> dict[str, str]:
            stamp = (start + timedelta(seconds=offset)).strftime("%Y-%m-%d-%H-%M-%S")
            return {"date_time": stamp, "id": mess_id, "CallID": call_id, **extra, "event": name}

        def option(digit: int, kind: str) -> str:
            for item in self._dtmf_options(data):
                if str(item.get("dtmf_id")) == str(digit) and item.get("type") == kind:
                    return str(item["value"])
            raise AssertionError(f"request has no dtmf {digit} of type {kind}: {data}")

        if scenario.kind == "answered":  # "Абонент снял трубку, прослушал текст"
            return [
                (hook, event(0, f"o_{b}")),
                (hook, event(7, f"h_{b}_16_{scenario.duration}")),
            ]
        if scenario.kind == "busy":  # "Абонент занят"
            return [(hook, event(0, f"o_{b}")), (hook, event(2, f"h_{b}_17_0"))]
        if scenario.kind == "unreachable":  # "Абонент недоступен"
            return [(hook, event(0, f"o_{b}")), (hook, event(7, f"h_{b}_20_0"))]
        if scenario.kind == "transfer":  # "3. Общий пример уведомлений о ходе вызова"
            redirect = option(scenario.digit, "transfer")
            digit = str(scenario.digit)
            return [
                (hook, event(0, f"o_{b}")),
                (hook, event(42, f"o_{redirect}", dtmf=digit, type="transfer")),
                (hook, event(92, f"h_{redirect}_16_30", dtmf=digit, type="transfer")),
                (hook, event(7, f"h_{b}_16_{scenario.duration}")),
            ]
        if scenario.kind == "notify":  # "2.2 Формат события при type:callback"
            url = option(scenario.digit, "notify")
            return [
                (hook, event(0, f"o_{b}")),
                (url, event(0, f"n_{b}", dtmf=str(scenario.digit), type="notify")),
                (hook, event(7, f"h_{b}_16_{scenario.duration}")),
            ]
        # "2.3 Уведомление при не выборе абонентом dtmf": to the menu's notify URL.
        notify = [o for o in self._dtmf_options(data) if o.get("type") == "notify"]
        assert notify, f"no notify option to post the 'null' choice to: {data}"
        return [
            (hook, event(0, f"o_{b}")),
            (str(notify[0]["value"]), event(0, f"n_{b}", dtmf="null", type="notify")),
            (hook, event(7, f"h_{b}_16_{scenario.duration}")),
        ]

    def render(self, fields: dict[str, str]) -> tuple[str, str]:
        """One event as the body text and content type of ``event_shape``."""
        pairs = "&".join(f"{key}={value}" for key, value in fields.items())
        if self.event_shape == "json":
            return json.dumps(fields, indent=2), "application/json"
        if self.event_shape == "kv":
            return pairs, "application/x-www-form-urlencoded"
        if self.event_shape == "braced":
            return '{"' + pairs + '"}', "application/json"
        return '{"data":{"' + pairs + '"}}', "application/json"

    async def _post_calls(self, events: list[tuple[str, dict[str, str]]]) -> None:
        for url, fields in events:
            await asyncio.sleep(self.event_gap)
            body, content_type = self.render(fields)
            await self._post(url, body, content_type)

    # -- msapi -----------------------------------------------------------------------------

    async def _send_sms(self, request: Request) -> Response:
        self._note_auth(request)
        sid = request.path_params["sid"]
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = {}
        with self._lock:
            self.sms_requests.append(payload)
        if not str(payload.get("text") or ""):
            body = {
                "status_code": 400,
                "request_id": str(uuid.uuid4()),
                "error": "Invalid params: text shouldn't be empty",
            }
            with self._lock:
                self.refused.append("empty text")
            return JSONResponse(body, status_code=400)
        to = str(payload.get("to", ""))
        with self._lock:
            self.sms_by_to[to] += 1
        message_sid = f"msg{uuid.uuid4()}"
        final = self.sms_final.get(to, "delivered")
        statuses = ["queued", "prebilling", "sent", final]
        fields = [
            {
                "account_sid": sid,
                "direction": "outbound",
                "from": str(payload.get("from", "")),
                "hash": "view",
                "message_sid": message_sid,
                "status": status,
                "text": str(payload.get("text", "")),
                "to": to,
            }
            for status in statuses
        ]
        listed = {
            "account_sid": sid,
            "message_sid": message_sid,
            "text": str(payload.get("text", "")),
            "created_at": int(time.time()),
            "direction": "outbound",
            "number": str(payload.get("from", "")),
            "external_number": to,
            "status": "queued",
            "segment_count": 1,
        }
        with self._lock:
            self.messages.insert(0, listed)
        self._spawn(self._post_sms(fields, listed))
        body = {
            "status_code": 201,
            "status_message": "CREATED",
            "uri": f"/v2/accounts/{sid}/messages/{message_sid}",
        }
        return JSONResponse(body, status_code=201)

    async def _post_sms(self, events: list[dict[str, str]], listed: dict[str, Any]) -> None:
        for fields in events:
            await asyncio.sleep(self.event_gap)
            listed["status"] = fields["status"]
            await self._post(
                self.sms_webhook_url, urlencode(fields), "application/x-www-form-urlencoded"
            )

    async def _list_messages(self, request: Request) -> Response:
        """``GET messages`` with the documented page shape and ``direction``/``status``
        filters; the example's field order (``number`` is ours, ``external_number`` theirs)."""
        self._note_auth(request)
        query = request.query_params
        limit = min(int(query.get("limit", 20)), 20)
        offset = int(query.get("offset", 0))
        with self._lock:
            found = [
                dict(m)
                for m in self.messages
                if all(query.get(key) in (None, m[key]) for key in ("direction", "status"))
            ]
        return JSONResponse(
            {
                "page": offset // limit + 1,
                "total": len(found),
                "limit": limit,
                "offset": offset,
                "prev": "",
                "next": "",
                "messages": found[offset : offset + limit],
            }
        )

    async def _numbers(self, request: Request) -> Response:
        self._note_auth(request)
        return JSONResponse(
            {
                "page": 1,
                "total": 1,
                "limit": 20,
                "offset": 0,
                "prev": "",
                "next": "",
                "numbers": [{"number": self.out_number, "direction": "OUT"}],
            }
        )

    # -- plumbing --------------------------------------------------------------------------

    def _note_auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        user = ""
        if scheme.lower() == "basic":
            user = base64.b64decode(value).decode("utf-8", "replace").partition(":")[0]
        with self._lock:
            self.auth.add(f"{scheme.lower()}:{user}")

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: str, content_type: str) -> None:
        assert self._client is not None
        status = 0
        for _ in range(3):  # like a provider: deliver again on a failure
            try:
                response = await self._client.post(
                    url, content=body.encode("utf-8"), headers={"Content-Type": content_type}
                )
                status = response.status_code
            except httpx.HTTPError:
                status = -1
            if 200 <= status < 300:
                break
            await asyncio.sleep(0.2)
        with self._lock:
            self.sent.append(SentEvent(url, body, content_type, status))


class DocFakeServer:
    """``fake.app()`` served by uvicorn in a daemon thread on ``host:0``."""

    def __init__(self, fake: DocFake, host: str = "127.0.0.1") -> None:
        self.fake = fake
        self._host = host
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    def __enter__(self) -> DocFakeServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self._host, 0))
        self._socket = sock
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.fake.app(), log_level="warning", access_log=False, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="doc-fake", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("doc fake did not start")
            time.sleep(0.01)
        self.base_url = f"http://{self._host}:{port}"
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
