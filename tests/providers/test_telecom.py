"""TelecomClient (JSON-RPC) against the exact requests and answers of the Telecom API docs."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
)
from dialer.providers.telecom import (
    Balance,
    CallHistory,
    CallRecord,
    TelecomClient,
    parse_balance_result,
    parse_call_history_result,
    parse_rpc_answer,
)

T = TypeVar("T")
URL = "https://webapicommon.mtt.ru/index.php"
BALANCE = """{
  "jsonrpc": "2.0",
  "id": 1,
  "result":
  {
    "balance": 121.54,
    "real_balance": 711.54
  }
}"""
BALANCE_NOT_FOUND = """{
  "jsonrpc": "2.0",
  "id": "1",
  "error":
  {
    "code": -32001,
    "message": "Data not found"
  }
}"""
PERMISSION_DENIED = (
    '{ "jsonrpc": "2.0", "id": "1", "error": { "code": -32002, "message": "Permission denied",'
    ' "data": "agent does not have access to this account" } }'
)
INVALID_PARAMS = """{
  "jsonrpc": "2.0",
  "id": "3",
  "error": {
    "code": -32602,
    "message": "Invalid params",
    "data": "Invalid begin date"
  }
}"""
HISTORY_NOT_FOUND = """{
  "jsonrpc": "2.0",
  "id": "3",
  "error": {
    "code": -32001,
    "message": "Data not found",
    "data": "No data found"
  }
}"""
CALL_HISTORY = """{
  "jsonrpc": "2.0",
  "id": "3",
  "result": {
    "incoming": [],
    "missed": [],
    "dialed": [
      {
        "cli": "79103880489",
        "clid": "79103880490",
        "customer_local_time": "2018-02-06 16:51:17",
        "connect_time": "2018-02-06 16:51:17",
        "charged_time": "0",
        "charged": 0,
        "destination": "RUSSIAN FEDERATION",
        "curr": "RUB",
        "disconnect_cause": "16",
        "used_quantity": "32",
        "h323_conf_id": "07A9B59A 05F65003 13B136EE D90263EE"
      },
      {
        "cli": "79057979388",
        "clid": "79103880490",
        "customer_local_time": "2018-02-07 16:50:15",
        "connect_time": "2018-02-07 16:50:15",
        "charged_time": "0",
        "charged": 0,
        "destination": "RUSSIAN FEDERATION",
        "curr": "RUB",
        "used_quantity": "32",
        "disconnect_cause": "17"
      }
    ],
    "callback": [],
    "success": 1
  }
}"""
# The documented answer is split over three code blocks; joined here verbatim.
SERVICE_HISTORY = (
    """{
  "jsonrpc": "2.0",
  "id": "1",
  "result": {
    "dialed": [
      {
        "cli": "79066899000",
        "cld": "74959333223",
        "customer_local_time": "2017-09-14 16:01:09",
        "connect_time": "2017-09-14 16:01:09",
        "charged_time": "119",
        "charged": 2.48,
        "destination": ".",
        "h323_conf_id": "2B23D937 BD9BCF86 E89D407D 44DA0162",
        "h323_incoming_conf_id": "AC4D7D28 994C11E7 88C6AC16 2D8CE148",
"""
    """"curr": "RUB",
"setup_time_ms": "4581",
"disconnect_cause": "16",
"account_id": "74951349387",
"used_quantity": "119",
"voice_record_exist": false
},
{
"cli": "79262049647",
"clid": "79775133876",
"customer_local_time": "2017-09-14 16:01:08",
"connect_time": "2017-09-14 16:01:08",
"charged_time": "60",
"charged": 0,
"destination": " .",
"h323_conf_id": "C2D68D0D 584EEE9A 2697A64B 9A0A0F53",
"h323_incoming_conf_id": "92E21D30 994C11E7 8FD7AC16 2D8CE148",
"curr": "RUB",
"setup_time_ms": "8575",
"disconnect_cause": "16",
"account_id": "883140584982783",
"used_quantity": "35",
"voice_record_exist": false
},
{
"cli": "74993018267",
"clid": "79104080307",
"customer_local_time": "2017-09-14 16:01:07",
"connect_time": "2017-09-14 16:01:07",
"charged_time": "0",
"charged": 0,
"destination": " .",
"h323_conf_id": "7EFDAECB 8A53BF45 63F48E8E 273A7F83",
"h323_incoming_conf_id": "92E26222 994C11E7 8FD7AC16 2D8CE148",
"curr": "RUB",
"setup_time_ms": "2000",
"disconnect_cause": "17",
"account_id": "883140587615452",
"""
    """        "used_quantity": "0",
        "voice_record_exist": false
    }
],
"success": 1
}
}"""
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, body: str, status: int = 200) -> None:
        self.body = body
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text=self.body)

    def sent_json(self, index: int = 0) -> object:
        return json.loads(self.requests[index].content)


def with_client(handler: Handler, use: Callable[[TelecomClient], Awaitable[T]]) -> T:
    async def go() -> T:
        client = TelecomClient(
            URL, "login", SecretStr("pw"), transport=httpx.MockTransport(handler)
        )
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def test_balance_request_is_positional_with_integer_id() -> None:
    recorder = Recorder(BALANCE)

    balance = with_client(recorder, lambda client: client.get_customer_balance("110000000"))

    assert balance == Balance(balance=Decimal("121.54"), real_balance=Decimal("711.54"))
    assert recorder.sent_json() == {
        "jsonrpc": "2.0",
        "method": "getCustomerBalance",
        "params": ["110000000"],
        "id": 1,
    }
    sent = recorder.requests[0]
    assert (sent.method, str(sent.url)) == ("POST", URL)
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"login:pw").decode()


def test_request_ids_increase_per_client() -> None:
    recorder = Recorder(BALANCE)

    async def twice(client: TelecomClient) -> None:
        await client.get_customer_balance("1")
        await client.get_customer_balance("1")

    with_client(recorder, twice)
    assert [json.loads(r.content)["id"] for r in recorder.requests] == [1, 2]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (BALANCE_NOT_FOUND, ProviderRefusedError),
        (PERMISSION_DENIED, ProviderAuthError),
        (INVALID_PARAMS, ProviderRefusedError),
        ('{"jsonrpc": "2.0", "id": 1, "result": {"real_balance": 1}}', ProviderError),
        ("<html>", ProviderError),
    ],
)
def test_balance_errors(body: str, error: type[ProviderError]) -> None:
    with pytest.raises(error) as caught:
        with_client(Recorder(body), lambda client: client.get_customer_balance("110000000"))
    assert type(caught.value) is error


def test_call_history_request_and_documented_answer() -> None:
    recorder = Recorder(CALL_HISTORY)

    history = with_client(
        recorder,
        lambda client: client.get_call_history(
            "74996480000", moment("2019-10-30 10:23:35"), moment("2019-10-30 22:23:35")
        ),
    )

    assert recorder.sent_json() == {
        "jsonrpc": "2.0",
        "method": "getCallHistory",
        "params": {
            "sip_id": "74996480000",
            "date_from": "30.10.2019 10:23:35",
            "date_to": "30.10.2019 22:23:35",
        },
        "id": 1,
    }
    assert (history.incoming, history.missed, history.callback, history.forwarded) == ((),) * 4
    assert history.dialed == (
        CallRecord(
            cli="79103880489",
            cld="79103880490",
            customer_local_time=moment("2018-02-06 16:51:17"),
            connect_time=moment("2018-02-06 16:51:17"),
            charged_time=0,
            charged=Decimal("0"),
            destination="RUSSIAN FEDERATION",
            curr="RUB",
            disconnect_cause=16,
            used_quantity=32,
            h323_conf_id="07A9B59A 05F65003 13B136EE D90263EE",
        ),
        CallRecord(
            cli="79057979388",
            cld="79103880490",
            customer_local_time=moment("2018-02-07 16:50:15"),
            connect_time=moment("2018-02-07 16:50:15"),
            charged_time=0,
            charged=Decimal("0"),
            destination="RUSSIAN FEDERATION",
            curr="RUB",
            disconnect_cause=17,
            used_quantity=32,
        ),
    )


def test_history_dates_are_sent_in_utc() -> None:
    recorder = Recorder(CALL_HISTORY)
    msk = timezone(timedelta(hours=3))
    start = datetime(2019, 10, 30, 13, 23, 35, tzinfo=msk)

    with_client(recorder, lambda client: client.get_call_history("1", start, start))

    params = recorder.sent_json()["params"]  # type: ignore[index]
    assert params["date_from"] == "30.10.2019 10:23:35"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HISTORY_NOT_FOUND, CallHistory()),
        ('{"jsonrpc": "2.0", "id": "3", "result": {"success": 1}}', CallHistory()),
    ],
)
def test_no_data_is_an_empty_history(body: str, expected: CallHistory) -> None:
    start = moment("2019-10-30 10:23:35")
    history = with_client(
        Recorder(body), lambda client: client.get_call_history("74996480000", start, start)
    )
    assert history == expected


@pytest.mark.parametrize(
    ("body", "error"),
    [(INVALID_PARAMS, ProviderRefusedError), (PERMISSION_DENIED, ProviderAuthError)],
)
def test_call_history_errors(body: str, error: type[ProviderError]) -> None:
    start = moment("2019-10-30 10:23:35")
    with pytest.raises(error):
        with_client(Recorder(body), lambda client: client.get_call_history("1", start, start))


def test_service_history_request_and_documented_answer() -> None:
    recorder = Recorder(SERVICE_HISTORY)

    history = with_client(
        recorder,
        lambda client: client.get_service_history(
            "110011256",
            "dialed",
            moment("2017-09-14 16:01:05"),
            moment("2017-09-14 16:01:10"),
            record_count=20,
        ),
    )

    assert recorder.sent_json() == {
        "jsonrpc": "2.0",
        "method": "getServiceHistoryByCustomer",
        "params": {
            "type": "dialed",
            "customer_name": "110011256",
            "date_from": "2017-09-14 16:01:05",
            "date_to": "2017-09-14 16:01:10",
            "order": "desc",
            "record_count": 20,
        },
        "id": 1,
    }
    assert len(history.dialed) == 3
    assert history.dialed[0] == CallRecord(
        cli="79066899000",
        cld="74959333223",
        customer_local_time=moment("2017-09-14 16:01:09"),
        connect_time=moment("2017-09-14 16:01:09"),
        charged_time=119,
        charged=Decimal("2.48"),
        destination=".",
        curr="RUB",
        disconnect_cause=16,
        used_quantity=119,
        h323_conf_id="2B23D937 BD9BCF86 E89D407D 44DA0162",
        h323_incoming_conf_id="AC4D7D28 994C11E7 88C6AC16 2D8CE148",
        setup_time_ms=4581,
        account_id="74951349387",
        voice_record_exist=False,
    )
    assert [r.cld for r in history.dialed] == ["74959333223", "79775133876", "79104080307"]
    assert [r.disconnect_cause for r in history.dialed] == [16, 16, 17]


def test_service_history_filter_and_order() -> None:
    recorder = Recorder(HISTORY_NOT_FOUND)
    start = moment("2017-09-14 16:01:05")

    with_client(
        recorder,
        lambda client: client.get_service_history(
            "1", "forwarded", start, start, filter="79990000000", order="asc"
        ),
    )

    params = recorder.sent_json()["params"]  # type: ignore[index]
    assert (params["filter"], params["order"], params["record_count"]) == (
        "79990000000",
        "asc",
        1000,
    )


@pytest.mark.parametrize("count", [0, 1001])
def test_record_count_is_at_most_1000(count: int) -> None:
    start = moment("2017-09-14 16:01:05")
    with pytest.raises(ValueError, match="record_count"):
        with_client(
            Recorder(HISTORY_NOT_FOUND),
            lambda client: client.get_service_history(
                "1", "dialed", start, start, record_count=count
            ),
        )


def test_naive_dates_are_refused() -> None:
    naive = datetime(2019, 10, 30, 10, 23, 35)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        with_client(
            Recorder(CALL_HISTORY), lambda client: client.get_call_history("1", naive, naive)
        )


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError),
        (httpx.ReadTimeout("no answer"), TransientProviderError),
    ],
)
def test_reads_are_retryable_after_transport_failures(
    exception: httpx.TransportError, error: type[ProviderError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        exception.request = request
        raise exception

    with pytest.raises(error):
        with_client(handler, lambda client: client.get_customer_balance("1"))


def test_server_errors_are_transient() -> None:
    with pytest.raises(TransientProviderError):
        with_client(Recorder("", 502), lambda client: client.get_customer_balance("1"))


def test_pure_parsers() -> None:
    assert parse_balance_result({"balance": "10.5"}) == Balance(Decimal("10.5"))
    assert parse_call_history_result({"missed": [{}]}) == CallHistory(missed=(CallRecord(),))
    assert parse_rpc_answer(BALANCE).result == {
        "balance": Decimal("121.54"),
        "real_balance": Decimal("711.54"),
    }


@pytest.mark.parametrize(
    "result",
    [
        {"dialed": [{"charged_time": "ten"}]},
        {"dialed": [{"charged": "NaN"}]},
        {"dialed": [{"connect_time": "06.02.2018"}]},
        {"dialed": [{"voice_record_exist": "maybe"}]},
        {"dialed": ["not a record"]},
        {"dialed": {"not": "a list"}},
        ["not", "an", "object"],
    ],
)
def test_malformed_history_fields_name_the_problem(result: object) -> None:
    with pytest.raises(ProviderError):
        parse_call_history_result(result)
