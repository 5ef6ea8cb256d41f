"""Connecting MTT Business as an operator does: ``dialer connect mtt-business`` prints the
link, the browser comes back to the collector (or the code is pasted with ``--code``), and
``dialer connect status`` says where it stands — against the simulator's OAuth server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from dialer.connections import store
from dialer.connections.sealing import Sealer
from dialer.db.types import utcnow
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.server import SimulatorServer
from tests.collector.conftest import TOKEN, StartCollector
from tests.support.cli import assert_one_line_error, dialer

SECRET_KEY = "k" * 40


@pytest.fixture
def oauth_server() -> Iterator[str]:
    server = SimulatorServer(SimulatorConfig())
    base = server.start()
    yield f"{base}/mtt-business"
    server.stop()


def business_env(oauth_url: str) -> dict[str, str]:
    sim = SimulatorConfig().mtt_business
    return {
        "MTT_BUSINESS_OAUTH_URL": oauth_url,
        "MTT_BUSINESS_CLIENT_ID": sim.client_id,
        "MTT_BUSINESS_CLIENT_SECRET": sim.client_secret.get_secret_value(),
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_URL": "https://dialer.example",
        "WEBHOOK_TOKEN": TOKEN,
    }


def code_from(link: str) -> tuple[str, str]:
    """What the browser would bring back: log in at ``link``, get redirected with a code."""
    answer = httpx.get(link, follow_redirects=False, timeout=10)
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    return back["code"][0], back["state"][0]


def test_connect_by_pasting_the_code(tmp_path: Path, oauth_server: str) -> None:
    env = business_env(oauth_server)
    started = dialer(tmp_path, "connect", "mtt-business", "--json", **env)
    assert started.returncode == 0, started.stderr
    link = json.loads(started.stdout.strip().splitlines()[-1])["authorize_url"]
    assert link.startswith(f"{oauth_server}/oauth/authorize?")
    assert "redirect_uri=https%3A%2F%2Fdialer.example%2Fhooks%2F" in link
    code, _ = code_from(link)
    pasted = dialer(tmp_path, "connect", "mtt-business", "--code", code, **env)
    assert pasted.returncode == 0, pasted.stderr
    assert "MTT Business connected" in pasted.stdout
    status = dialer(tmp_path, "connect", "status", "--json", **env)
    [row] = json.loads(status.stdout.strip().splitlines()[-1])["connections"]
    assert (row["provider"], row["status"]) == ("mtt_business", "connected")
    assert SECRET_KEY not in status.stdout + pasted.stdout + started.stdout


def test_connect_names_what_is_missing_in_one_line(tmp_path: Path) -> None:
    result = dialer(tmp_path, "connect", "mtt-business")
    assert_one_line_error(
        result,
        "cannot connect MTT Business: set DIALER_MTT_BUSINESS_CLIENT_ID, "
        "DIALER_MTT_BUSINESS_CLIENT_SECRET, DIALER_SECRET_KEY",
    )


def test_a_reused_code_is_one_line(tmp_path: Path, oauth_server: str) -> None:
    env = business_env(oauth_server)
    started = dialer(tmp_path, "connect", "mtt-business", "--json", **env)
    code, _ = code_from(json.loads(started.stdout.strip().splitlines()[-1])["authorize_url"])
    assert dialer(tmp_path, "connect", "mtt-business", "--code", code, **env).returncode == 0
    again = dialer(tmp_path, "connect", "mtt-business", "--code", code, **env)
    assert_one_line_error(again, "reconnect MTT Business")


def test_the_browser_comes_back_to_the_collector(
    start_collector: StartCollector, oauth_server: str
) -> None:
    sim = SimulatorConfig().mtt_business
    collector = start_collector(
        mtt_business_oauth_url=oauth_server,
        mtt_business_client_id=sim.client_id,
        mtt_business_client_secret=sim.client_secret,
        secret_key=SecretStr(SECRET_KEY),
        public_url="https://dialer.example",
    )
    state = store.begin(collector.engine, "mtt_business", utcnow())
    link = (
        f"{oauth_server}/oauth/authorize?response_type=code&client_id={sim.client_id}"
        f"&redirect_uri=https://dialer.example/hooks/{TOKEN}/mtt-business"
        f"&scope=https://mtt.ru/auth.tokens.readwrite&state={state}"
    )
    code, returned_state = code_from(link)
    path = collector.hook("x").replace("/mtt/x", "/mtt-business")
    wrong = collector.client.get(
        f"/hooks/wrong-token-000000/mtt-business?code={code}&state={state}"
    )
    assert wrong.status_code == 404
    forged = collector.client.get(f"{path}?code={code}&state=forged")
    assert (forged.status_code, forged.text.count("\n")) == (400, 1)
    assert "unknown or expired" in forged.text
    back = collector.client.get(f"{path}?code={code}&state={returned_state}")
    assert (back.status_code, back.text) == (
        200,
        "MTT Business is connected; you can close this page.\n",
    )
    tokens = store.current(collector.engine, "mtt_business", Sealer(SecretStr(SECRET_KEY)))
    assert tokens is not None
    assert tokens.access_token not in back.text
    refused = collector.client.get(f"{path}?error=access_denied")
    assert refused.status_code == 400
    assert "did not authorise" in refused.text
