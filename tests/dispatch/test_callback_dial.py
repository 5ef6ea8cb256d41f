"""Dialling a callback attempt through the real CallBack client (``httpx.MockTransport``
answering as the doc does): what is sent, and what each in-``result`` refusal does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact
from dialer.db.types import utcnow
from dialer.dispatch.dial import DialResult, dial_attempt
from dialer.dispatch.runtime import Runtime
from dialer.limits.local import LocalRateLimiter
from dialer.loader.load import load_contacts
from dialer.providers.factory import build_callback_client
from dialer.scheduler.tick import schedule_tick
from dialer.settings import Settings
from tests.support.factories import callback_toml, make_campaign, write_csv

SETTINGS = Settings(
    mtt_api_url="https://webapicommon.example/index.php",
    mtt_login="login",
    mtt_password=SecretStr("password"),
    mtt_callback_customer_name="883140500000000",
    public_url="https://hooks.example.com",
    webhook_token=SecretStr("t" * 20),
)
ACCEPTED = '{"jsonrpc": "2.0", "id": "1", "result": {"callbackCall_id": "1256ffb1"}}'
# The doc's failure example, as printed: not JSON (comments after values, no comma).
REFUSED = """{
  "jsonrpc": "2.0",
  "id": "iar_ringall",
  "result":
  {
    "error": 1,
    "message": "%s" - указан некорректный номер
  }
}"""


def dial_one(
    engine: Engine, tmp_path: Path, answer: str
) -> tuple[DialResult, list[dict[str, object]]]:
    make_campaign(
        engine,
        parse_config(callback_toml("cb", extra="") + '[schedule]\nwindow = "00:00-24:00"\n'),
    )
    load_contacts(engine, "cb", write_csv(tmp_path / "c.csv", "name,phone\nОля,79161230001\n"))
    with session_scope(engine) as session:
        session.execute(update(Campaign).values(state="running"))
    [(attempt_id, channel)] = schedule_tick(engine, utcnow()).enqueue
    assert channel == "callback"
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, text=answer)

    runtime = Runtime(
        settings=SETTINGS,
        engine=engine,
        limiter=LocalRateLimiter(),
        enqueue=lambda *message: None,
        provider_factories={
            "callback:mtt": lambda: build_callback_client(
                SETTINGS, transport=httpx.MockTransport(handler)
            )
        },
    )

    async def dial() -> DialResult:
        try:
            return await dial_attempt(runtime, attempt_id)
        finally:
            await runtime.aclose()

    return asyncio.run(dial()), sent


def test_an_accepted_callback_records_mtts_id_and_sent_what_the_campaign_says(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    result, sent = dial_one(sqlite_engine, tmp_path, ACCEPTED)
    assert result == DialResult.SUBMITTED
    [request] = sent
    assert request["method"] == "makeCallBackCallFollowme"
    params = request["params"]
    assert isinstance(params, dict)
    assert params["customer_name"] == "883140500000000"
    assert params["b_number"] == "79161230001"
    assert params["recordEnable"] == 0
    with Session(sqlite_engine) as session:
        attempt = session.exec(select(Attempt)).one()
    assert params["callBackURL"] == f"hooks.example.com/hooks/{'t' * 20}/mtt/callback/{attempt.id}"
    assert (attempt.status, attempt.provider_id) == ("submitted", "1256ffb1")


def test_an_incorrect_b_number_makes_the_contact_invalid(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    result, _ = dial_one(sqlite_engine, tmp_path, REFUSED % "Incorrect B-number format")
    assert result == DialResult.FAILED
    with Session(sqlite_engine) as session:
        contact = session.exec(select(Contact)).one()
        campaign = session.exec(select(Campaign)).one()
    assert (contact.status, contact.outcome) == ("invalid", "invalid_number")
    assert campaign.state == "running"


def test_an_incorrect_agent_number_pauses_the_campaign_with_the_reason(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    result, _ = dial_one(sqlite_engine, tmp_path, REFUSED % "Incorrect redirect_number format")
    assert result == DialResult.PAUSED
    with Session(sqlite_engine) as session:
        contact = session.exec(select(Contact)).one()
        campaign = session.exec(select(Campaign)).one()
        attempt = session.exec(select(Attempt).where(col(Attempt.id) > 0)).one()
    assert campaign.state == "paused"
    assert "Incorrect redirect_number format" in (campaign.state_reason or "")
    assert (attempt.status, attempt.counts_budget) == ("cancelled", False)
    assert (contact.status, contact.budget_used) in {("pending", 0), ("retry_wait", 0)}


def test_an_unreadable_answer_is_unknown_and_never_sent_again(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # a 200 whose body is not an answer: the agents may be ringing
    result, sent = dial_one(sqlite_engine, tmp_path, "<html>gateway timeout</html>")
    assert result == DialResult.UNKNOWN
    assert len(sent) == 1
    with Session(sqlite_engine) as session:
        attempt = session.exec(select(Attempt)).one()
    assert attempt.status == "unknown"
