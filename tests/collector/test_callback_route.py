"""The CallBack route on a real collector: ``event.php`` GETs (and POSTs), with or without
the attempt id in the path, behind the token like every other route."""

from __future__ import annotations

import json

import pytest

from tests.collector.conftest import TOKEN, Collector
from tests.collector.test_rules import WRONG_TOKENS

PICKUP = "event=pickup_side_A&id=e031c89159fba8b80025cd6fb534a77&phone_A=+79997090111"


@pytest.mark.parametrize("path", ["callback/event.php", "callback/77/event.php"])
def test_wrong_token_is_404_and_stores_nothing(collector: Collector, path: str) -> None:
    for token in WRONG_TOKENS:
        for method in ("GET", "POST"):
            response = collector.client.request(method, f"{collector.hook(path, token)}?{PICKUP}")
            assert response.status_code == 404, (token, method)
    assert collector.rows() == []


def test_a_get_is_stored_with_the_attempt_from_the_path(collector: Collector) -> None:
    # MTT logs show '+' unescaped in the query: it arrives as a space
    response = collector.client.get(f"{collector.hook('callback/77/event.php')}?{PICKUP}")
    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    [row] = collector.rows()
    payload = json.loads(row.payload_json or "{}")
    assert (row.route, row.kind) == ("callback", "callback")
    assert payload["attempt_id"] == 77
    assert payload["provider_id"] == "e031c89159fba8b80025cd6fb534a77"
    assert (payload["status"], payload["number"]) == ("pickup_side_A", "79997090111")


def test_the_same_event_as_a_post_form_is_a_duplicate(collector: Collector) -> None:
    collector.client.get(f"{collector.hook('callback/event.php')}?{PICKUP}")
    posted = collector.client.post(
        collector.hook("callback/event.php"),
        content=PICKUP.replace("+", "%2B"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert posted.json() == {"ok": True, "stored": 0, "duplicates": 1}


def test_an_event_without_an_id_is_400_and_kept(collector: Collector) -> None:
    response = collector.client.get(f"{collector.hook('callback/event.php')}?event=start_talk")
    assert response.status_code == 400
    [row] = collector.rows()
    assert row.status == "invalid"


def test_other_methods_are_405(collector: Collector) -> None:
    response = collector.client.put(f"{collector.hook('callback/event.php')}?{PICKUP}")
    assert response.status_code == 405
    assert TOKEN not in response.text
    assert collector.rows() == []
