"""A provider's own authentication in the body (Bitrix24's ``auth[application_token]``):
a body that fails it is answered 404 (like a wrong path token) and not stored."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from tests.collector.conftest import StartCollector

APP_TOKEN = "bitrix-app-token-0123456789"


def event(token: str) -> str:
    return urlencode(
        {
            "event": "ONVOXIMPLANTCALLINIT",
            "data[CALL_ID]": "callback.abc.1",
            "data[CALL_TYPE]": "4",
            "data[PHONE_NUMBER]": "+79165550101",
            "auth[application_token]": token,
        }
    )


@pytest.mark.parametrize("token", ["wrong", "", APP_TOKEN[:-1]])
def test_a_body_failing_the_providers_token_is_404_and_not_stored(
    start_collector: StartCollector, token: str
) -> None:
    collector = start_collector(bitrix24_application_token=SecretStr(APP_TOKEN))
    form = {"content-type": "application/x-www-form-urlencoded"}
    refused = collector.client.post(
        collector.hook("x").replace("/mtt/x", "/bitrix24"), content=event(token), headers=form
    )
    assert (refused.status_code, refused.text) == (404, "Not Found")
    assert collector.rows() == []
    accepted = collector.client.post(
        collector.hook("x").replace("/mtt/x", "/bitrix24"), content=event(APP_TOKEN), headers=form
    )
    assert accepted.status_code == 200
    [row] = collector.rows()
    assert APP_TOKEN not in row.raw  # the token is redacted from the stored request
