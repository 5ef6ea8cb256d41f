"""msapi: numbers, sending, status events, listing and inbound messages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import pytest

from dialer.simulator import AccountNumber, Override

from .harness import (
    ACCOUNT,
    MESSAGES,
    MSAPI_AUTH,
    OUT_NUMBER,
    SMS_HOOK,
    Harness,
    make_config,
    run_sim,
)

TO = "79161234567"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DOC_EMPTY_TEXT = """{
  "status_code": 400,
  "request_id": "7f4d9823-fd41-4697-ba9b-11940e7932d0",
  "error": "Invalid params: text shouldn't be empty"
}"""


def test_send_answers_201_with_the_message_uri() -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sms(**{"from": OUT_NUMBER, "to": TO, "text": "Hello", "tag": "42"})
        assert response.status_code == 201
        body = response.json()
        assert list(body) == ["status_code", "status_message", "uri"]
        assert (body["status_code"], body["status_message"]) == (201, "CREATED")
        assert re.fullmatch(rf"/v2/accounts/{ACCOUNT}/messages/msg{UUID}", body["uri"])

    run_sim(make_config(), scenario)


def test_empty_text_is_the_documented_400() -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sms(**{"from": OUT_NUMBER, "to": TO, "text": ""})
        assert response.status_code == 400
        request_id = response.json()["request_id"]
        assert re.fullmatch(UUID, request_id)
        assert response.text == DOC_EMPTY_TEXT.replace(
            "7f4d9823-fd41-4697-ba9b-11940e7932d0", request_id
        )

    run_sim(make_config(), scenario)


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"from": "79587625013", "to": TO, "text": "x"}, "from"),  # an IN number
        ({"from": "79000000000", "to": TO, "text": "x"}, "from"),
        ({"from": OUT_NUMBER, "to": "8916123456", "text": "x"}, "to"),
        ({"from": OUT_NUMBER, "to": TO, "text": "x", "tag": 5}, "tag"),
    ],
)
def test_invalid_params_in_the_documented_style(body: Any, word: str) -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sms(**body)
        assert response.status_code == 400
        document = response.json()
        assert list(document) == ["status_code", "request_id", "error"]
        assert document["error"].startswith(f"Invalid params: {word} ")
        assert (await h.stats())["sms_accepted"] == 0

    run_sim(make_config(), scenario)


@pytest.mark.parametrize(
    ("auth", "account", "status"),
    [((ACCOUNT, "wrong"), ACCOUNT, 401), (MSAPI_AUTH, "accother", 403)],
)
def test_auth_and_account(auth: tuple[str, str], account: str, status: int) -> None:
    async def scenario(h: Harness) -> None:
        response = await h.client.get(f"/v2/accounts/{account}/numbers", auth=auth)
        assert response.status_code == status

    run_sim(make_config(), scenario)


@pytest.mark.parametrize("final", ["delivered", "undelivered", "expired"])
def test_status_events_are_form_encoded_in_documented_order(final: str) -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sms(**{"from": OUT_NUMBER, "to": TO, "text": "test inbound"})
        sid = response.json()["uri"].rsplit("/", 1)[1]
        await h.settle()
        hooks = h.receiver.hooks
        assert [hook.url for hook in hooks] == [SMS_HOOK] * 4
        assert {hook.content_type for hook in hooks} == {"application/x-www-form-urlencoded"}
        expected = (
            f"account_sid={ACCOUNT}&direction=outbound&from={OUT_NUMBER}&hash=view"
            f"&message_sid={sid}&status={{}}&text=test+inbound&to={TO}"
        )
        statuses = ["queued", "prebilling", "sent", final]
        assert [hook.body for hook in hooks] == [expected.format(s) for s in statuses]
        listed = await h.client.get(f"{MESSAGES}/{sid}", auth=MSAPI_AUTH)
        assert listed.json()["messages"][0]["status"] == final

    run_sim(make_config(overrides={TO: Override(sms_status=final)}), scenario)


def test_status_events_by_get() -> None:
    async def scenario(h: Harness) -> None:
        await h.sms(**{"from": OUT_NUMBER, "to": TO, "text": "Ваш код 1234"})
        await h.settle()
        hooks = h.receiver.hooks
        assert {hook.method for hook in hooks} == {"GET"}
        assert [hook.form()["status"] for hook in hooks][:3] == ["queued", "prebilling", "sent"]
        assert hooks[0].form()["text"] == "Ваш код 1234"
        assert list(hooks[0].form()) == [
            "account_sid",
            "direction",
            "from",
            "hash",
            "message_sid",
            "status",
            "text",
            "to",
        ]

    run_sim(make_config(sms_webhook_method="GET"), scenario)


def test_inbound_injection_is_a_documented_inbound_event() -> None:
    async def scenario(h: Harness) -> None:
        body = {"from": TO, "to": OUT_NUMBER, "text": "СТОП"}
        response = await h.client.post("/_sim/inbound-sms", json=body)
        assert response.status_code == 201
        sid = response.json()["message_sid"]
        await h.settle()
        [hook] = h.receiver.hooks
        assert hook.url == SMS_HOOK
        assert dict(parse_qsl(hook.body)) == {
            "account_sid": ACCOUNT,
            "direction": "inbound",
            "from": TO,
            "hash": "view",
            "message_sid": sid,
            "status": "received",
            "text": "СТОП",
            "to": OUT_NUMBER,
        }
        listed = await h.client.get(MESSAGES, params={"direction": "inbound"}, auth=MSAPI_AUTH)
        [message] = listed.json()["messages"]
        assert (message["number"], message["external_number"]) == (OUT_NUMBER, TO)
        assert message["status"] == "received"
        bad = await h.client.post("/_sim/inbound-sms", json={**body, "to": "70000000000"})
        assert bad.status_code == 400

    run_sim(make_config(), scenario)


def test_numbers_page_shape_and_paging() -> None:
    numbers = [AccountNumber(number=f"7958762{n:04d}") for n in range(25)]

    async def scenario(h: Harness) -> None:
        url = f"/v2/accounts/{ACCOUNT}/numbers"
        first = (await h.client.get(url, auth=MSAPI_AUTH)).json()
        assert list(first) == ["page", "total", "limit", "offset", "prev", "next", "numbers"]
        assert (first["page"], first["total"], first["limit"], first["prev"]) == (1, 25, 20, "")
        assert first["numbers"][0] == {"number": "79587620000", "direction": "OUT"}
        assert first["next"].endswith(f"{url}?limit=20&offset=20")
        page = (await h.client.get(url, params={"offset": 5, "limit": 5}, auth=MSAPI_AUTH)).json()
        assert [n["number"] for n in page["numbers"]] == [f"7958762{n:04d}" for n in range(5, 10)]
        assert page["page"] == 2
        big = (await h.client.get(url, params={"limit": 100}, auth=MSAPI_AUTH)).json()
        assert big["limit"] == 20

    run_sim(make_config(numbers=numbers), scenario)


def test_message_listing_filters_and_next() -> None:
    async def scenario(h: Harness) -> None:
        for n in range(7):
            await h.sms(**{"from": OUT_NUMBER, "to": f"7916000000{n}", "text": f"m{n}"})
        await h.client.post("/_sim/inbound-sms", json={"from": TO, "to": OUT_NUMBER, "text": "hi"})
        page = (await h.client.get(MESSAGES, params={"limit": 5}, auth=MSAPI_AUTH)).json()
        assert (page["total"], len(page["messages"])) == (8, 5)
        assert "limit=5" in page["next"]
        assert "offset=5" in page["next"]
        rest = (await h.client.get(page["next"], auth=MSAPI_AUTH)).json()
        assert (len(rest["messages"]), rest["next"]) == (3, "")
        assert rest["prev"]
        listing = page["messages"][0]
        assert list(listing) == [
            "account_sid",
            "message_sid",
            "text",
            "created_at",
            "direction",
            "number",
            "external_number",
            "status",
            "segment_count",
        ]
        only = {"external_number": "79160000003", "direction": "outbound"}
        one = (await h.client.get(MESSAGES, params=only, auth=MSAPI_AUTH)).json()
        assert [m["text"] for m in one["messages"]] == ["m3"]
        by_sid = {"message_sid": one["messages"][0]["message_sid"]}
        assert (await h.client.get(MESSAGES, params=by_sid, auth=MSAPI_AUTH)).json()["total"] == 1
        missing = await h.client.get(f"{MESSAGES}/msgnope", auth=MSAPI_AUTH)
        assert missing.status_code == 404

    run_sim(make_config(sms_webhook_url=None), scenario)
