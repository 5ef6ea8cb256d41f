"""sb-api answers, byte for byte against the documented bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .harness import Harness, informer, ivr, make_config, run_sim

# Copied from the reference docs (sb-api informer / ivr-api sections); only the ids vary.
DOC_SUCCESS = """{
  "result": {
    "success": 1
  },
  "id": "1255490",
  "CallID": "00035c7d92bb061e"
}"""
DOC_B_NUMBER = r"""{
  "result": {
    "success": 0,
    "error": "\"b_number\" should be in e164 format"
  },
  "id": "1255490",
  "CallID": "00035c7d92260ed6"
}"""
DOC_A_NUMBER = r"""{
  "result": {
    "success": 0,
    "error": "\"a_number\" should be in e164 format"
  },
  "id": "1255490",
  "CallID": "00035c7d92260edc"
}"""
DOC_NO_MESS_ID = r"""{
  "result": {
    "success": 0,
    "error": "\"messId\" not found in request body"
  },
  "id": "00035c7d92bb099a"
}"""
DOC_WRONG_METHOD = """{
  "message": "access forbidden"
}"""
DOC_WRONG_SIP_ID = """{
  {
    "result": {
      "success": 0,
      "error": "Forbidden"
    },
    "id": "1255490",
    "CallID": "00035c7d9226611f"
  }
}"""
DOC_NOTIFY_NOT_HTTPS = r"""{
  "result": {
    "success": 0,
    "error": "\"notify\" value is not allowed"
  },
  "id": "1255490",
  "CallID": "00215e8250bf2070"
}"""

CALL_ID = re.compile(r'"(?:CallID|id)": "([0-9a-f]{16})"')


def _with_ids(doc: str, text: str) -> str:
    """``doc`` with its 16-hex call id replaced by the one in ``text``."""
    doc_id = CALL_ID.search(doc)
    got = CALL_ID.search(text)
    assert doc_id is not None
    assert got is not None, text
    return doc.replace(doc_id.group(1), got.group(1))


def _answer(body: Any, **config: Any) -> tuple[int, str, str]:
    result: list[tuple[int, str, str]] = []

    async def scenario(h: Harness) -> None:
        response = await h.sb(body)
        result.append((response.status_code, response.text, response.headers["content-type"]))

    run_sim(make_config(**config), scenario)
    return result[0]


def test_success_body_is_the_documented_one() -> None:
    status, text, content_type = _answer(informer())
    assert status == 200
    assert content_type == "application/json"
    assert text == _with_ids(DOC_SUCCESS, text)
    assert re.fullmatch(r"[0-9a-f]{16}", CALL_ID.findall(text)[0])


@pytest.mark.parametrize(
    ("body", "doc"),
    [
        (informer(b_number="7910000000"), DOC_B_NUMBER),
        (informer(b_number="+79103880489"), DOC_B_NUMBER),
        (informer(b_number=79103880489), DOC_B_NUMBER),
        (informer(a_number="7958100000"), DOC_A_NUMBER),
        (ivr(mess_id="1255490", a_number="795810000"), DOC_A_NUMBER),
        (
            ivr(
                mess_id="1255490", menu=[{"dtmf_id": 1, "type": "notify", "value": "http://x.ru/"}]
            ),
            DOC_NOTIFY_NOT_HTTPS,
        ),
    ],
    ids=["b-short", "b-plus", "b-int", "a-short", "ivr-a-short", "ivr-notify-http"],
)
def test_documented_refusals(body: Any, doc: str) -> None:
    status, text, _ = _answer(body)
    assert status == 200
    assert text == _with_ids(doc, text)


def test_ivr_requires_a_number() -> None:
    body = ivr(mess_id="1255490")
    del body["data"]["a_number"]
    _, text, _ = _answer(body)
    assert text == _with_ids(DOC_A_NUMBER, text)


def test_missing_mess_id_answers_a_call_id_as_id() -> None:
    body = informer()
    del body["data"]["messId"]
    status, text, _ = _answer(body)
    assert status == 200
    assert text == _with_ids(DOC_NO_MESS_ID, text)
    assert "CallID" not in text


def test_wrong_sip_id_answers_the_documented_invalid_json() -> None:
    status, text, _ = _answer(informer(sip_id="74990000000"))
    assert status == 200
    assert text == _with_ids(DOC_WRONG_SIP_ID, text)
    assert text.startswith("{\n  {")


def test_wrong_method_is_access_forbidden() -> None:
    body = informer()
    body["method"] = "metod"
    status, text, _ = _answer(body)
    assert status == 403
    assert text == DOC_WRONG_METHOD


def test_configured_informer_method_name_is_honoured() -> None:
    body = informer()
    body["method"] = "mtt-informer-42"
    assert _answer(body, informer_method="mtt-informer-42")[0] == 200
    assert _answer(body)[0] == 403


def test_http_notify_allowed_in_sandbox_mode() -> None:
    body = ivr(menu=[{"dtmf_id": "1", "type": "notify", "value": "http://127.0.0.1:8000/x"}])
    _, text, _ = _answer(body, allow_http_notify=True)
    assert '"success": 1' in text


@pytest.mark.parametrize(
    ("menu", "error"),
    [
        ([{"dtmf_id": "0", "type": "notify", "value": "https://a.ru/"}], "dtmf_id"),
        ([{"dtmf_id": "10", "type": "notify", "value": "https://a.ru/"}], "dtmf_id"),
        ([{"type": "notify", "value": "https://a.ru/"}], "dtmf_id"),
        ([{"dtmf_id": "3", "type": "transfer", "value": "749970901"}], "transfer"),
        ([{"dtmf_id": "3", "type": "call", "value": "74997090111"}], "type"),
        ([], "dtmf"),
    ],
)
def test_menu_errors_in_the_documented_style(menu: Any, error: str) -> None:
    _, text, _ = _answer(ivr(menu=menu))
    assert re.search(rf'"error": "\\"{error}\\" [^"]+"', text), text
    assert '"success": 0' in text
    assert '"CallID"' in text


def test_missing_mess_text_is_refused_in_the_same_style() -> None:
    body = informer()
    del body["data"]["messText"]
    _, text, _ = _answer(body)
    assert '"error": "\\"messText\\" not found in request body"' in text


def test_wrong_credentials_are_401_and_not_counted_as_calls() -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sb(informer(), auth=("sim-login", "nope"))
        assert response.status_code == 401
        assert (await h.stats())["calls_accepted"] == 0

    run_sim(make_config(), scenario)


def test_refusals_place_no_call_and_are_counted_by_reason() -> None:
    async def scenario(h: Harness) -> None:
        await h.sb(informer(b_number="1"))
        await h.sb(informer(sip_id="70000000000"))
        await h.settle()
        stats = await h.stats()
        assert stats["calls_accepted"] == 0
        assert stats["calls_refused"] == {"b_number": 1, "sip_id": 1}
        assert h.receiver.hooks == []

    run_sim(make_config(), scenario)


def test_dtmf_menu_beside_data_is_accepted() -> None:
    body = ivr()
    body["dtmf"] = body["data"].pop("dtmf")
    assert '"success": 1' in _answer(body)[1]
