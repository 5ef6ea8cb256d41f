"""A provider's own authentication in the body (Bitrix24's ``auth[application_token]``):
a body that fails it is answered 403 and not stored."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from dialer.collector import parsing
from dialer.errors import ForbiddenEventError
from dialer.providers.base import NormalizedEvent
from tests.collector.conftest import Collector


def forbidding(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    raise ForbiddenEventError("application token does not match")


def test_a_body_failing_the_providers_token_is_403_and_not_stored(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "_parsers", lambda: {"sms": forbidding})
    response = collector.client.post(collector.hook("sms"), content="a=1")
    assert (response.status_code, response.json()) == (403, {"ok": False, "error": "forbidden"})
    assert "application token" not in response.text
    assert collector.rows() == []
