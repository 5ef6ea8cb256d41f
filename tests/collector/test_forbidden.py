"""A provider's own authentication in the body (Bitrix24's ``auth[application_token]``):
a body that fails it is answered 404 (like a wrong path token) and not stored."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from dialer.collector import parsing
from dialer.errors import EventRejectedError
from dialer.providers.base import NormalizedEvent
from tests.collector.conftest import Collector


def forbidding(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    raise EventRejectedError("application token does not match")


def test_a_body_failing_the_providers_token_is_404_and_not_stored(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "_parsers", lambda: {"sms": forbidding})
    response = collector.client.post(collector.hook("sms"), content="a=1")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert "application token" not in response.text
    assert collector.rows() == []
