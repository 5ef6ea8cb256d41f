"""The Telecom JSON-RPC: balance, call history and service history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.simulator import Override

from .harness import SB_AUTH, SIP_ID, Harness, informer, ivr, make_config, run_sim

B = "79103880489"


def _rpc(method: str, params: Any, request_id: Any = "3") -> Any:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _call_rpc(body: Any, scenario_calls: list[Any] | None = None, **config: Any) -> Any:
    """Optionally place ``scenario_calls`` first, then post ``body``; returns the answer."""
    answers: list[Any] = []

    async def scenario(h: Harness) -> None:
        for call in scenario_calls or []:
            await h.sb(call)
        await h.settle()
        response = await h.client.post("/index.php", json=body, auth=SB_AUTH)
        assert response.status_code == 200
        answers.append(response.json())

    run_sim(make_config(**config), scenario)
    return answers[0]


def test_balance_with_positional_params() -> None:
    answer = _call_rpc(_rpc("getCustomerBalance", ["110000000"], request_id=1), balance=121.54)
    assert answer == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"balance": 121.54, "real_balance": 121.54},
    }


def test_balance_of_unknown_customer_is_data_not_found() -> None:
    answer = _call_rpc(_rpc("getCustomerBalance", ["1"], request_id="1"))
    assert answer == {
        "jsonrpc": "2.0",
        "id": "1",
        "error": {"code": -32001, "message": "Data not found"},
    }


def test_call_history_lists_dialed_calls_as_the_docs_show() -> None:
    calls = [
        informer(B, mess_id="1", a_number="79103880490"),
        informer("79057979388", mess_id="2"),
    ]
    overrides = {B: Override(listen_seconds=32), "79057979388": Override(outcome="busy")}
    now = datetime.now(UTC)
    params = {
        "sip_id": SIP_ID,
        "date_from": (now - timedelta(minutes=1)).strftime("%d.%m.%Y %H:%M:%S"),
        "date_to": (now + timedelta(minutes=1)).strftime("%d.%m.%Y %H:%M:%S"),
    }
    answer = _call_rpc(_rpc("getCallHistory", params), calls, overrides=overrides)
    result = answer["result"]
    assert (result["incoming"], result["missed"], result["callback"]) == ([], [], [])
    assert result["success"] == 1
    first, second = result["dialed"]
    assert list(first) == [
        "cli",
        "clid",
        "customer_local_time",
        "connect_time",
        "charged_time",
        "charged",
        "destination",
        "curr",
        "disconnect_cause",
        "used_quantity",
        "h323_conf_id",
    ]
    assert (first["cli"], first["clid"]) == ("79103880490", B)
    assert (first["disconnect_cause"], first["used_quantity"]) == ("16", "32")
    assert (second["cli"], second["clid"]) == (SIP_ID, "79057979388")
    assert (second["disconnect_cause"], second["used_quantity"]) == ("17", "0")
    assert first["curr"] == "RUB"
    datetime.strptime(first["connect_time"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007


def test_call_history_excludes_calls_outside_the_window() -> None:
    params = {
        "sip_id": SIP_ID,
        "date_from": "01.01.2019 00:00:00",
        "date_to": "02.01.2019 00:00:00",
    }
    answer = _call_rpc(_rpc("getCallHistory", params), [informer(B)])
    assert answer["result"]["dialed"] == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"sip_id": "70000000000"},
            {"code": -32001, "message": "Data not found", "data": "No data found"},
        ),
        (
            {"sip_id": SIP_ID, "date_from": "2019-10-30 10:23:35"},
            {"code": -32602, "message": "Invalid params", "data": "Invalid begin date"},
        ),
    ],
)
def test_call_history_errors(params: Any, error: Any) -> None:
    assert _call_rpc(_rpc("getCallHistory", params)) == {
        "jsonrpc": "2.0",
        "id": "3",
        "error": error,
    }


def test_service_history_dialed_and_forwarded() -> None:
    transfer = Override(listen_seconds=5, dtmf=3, transfer_seconds=30)
    base = {"customer_name": "110000000", "record_count": 20}
    dialed = _call_rpc(
        _rpc("getServiceHistoryByCustomer", {**base, "type": "dialed"}),
        [ivr(B)],
        overrides={B: transfer},
    )
    [record] = dialed["result"]["dialed"]
    assert (record["cli"], record["cld"], record["account_id"]) == (SIP_ID, B, SIP_ID)
    assert record["voice_record_exist"] is False
    forwarded = _call_rpc(
        _rpc("getServiceHistoryByCustomer", {**base, "type": "forwarded"}),
        [ivr(B)],
        overrides={B: transfer},
    )
    [leg] = forwarded["result"]["forwarded"]
    assert (leg["cli"], leg["cld"], leg["used_quantity"]) == (B, "74997090111", "30")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "dialed", "customer_name": "nobody", "record_count": 1}, -32001),
        ({"type": "dialed", "customer_name": "110000000"}, -32602),
        ({"type": "outgoing", "customer_name": "110000000", "record_count": 1}, -32602),
        (
            {"type": "dialed", "customer_name": "110000000", "record_count": 1, "date_from": "x"},
            -32602,
        ),
    ],
)
def test_service_history_errors(params: Any, code: int) -> None:
    assert _call_rpc(_rpc("getServiceHistoryByCustomer", params))["error"]["code"] == code


def test_unknown_method_and_bad_auth() -> None:
    assert _call_rpc(_rpc("getEverything", {}))["error"]["code"] == -32601

    async def scenario(h: Harness) -> None:
        body = _rpc("getCustomerBalance", ["110000000"])
        response = await h.client.post("/index.php", json=body, auth=("x", "y"))
        assert response.status_code == 401

    run_sim(make_config(), scenario)
