"""The compose files: the sandbox overlay points every dialer service at the simulator, with
the simulator's own credentials, and the simulator posts to the collector with the token the
collector checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dialer.settings import Settings
from dialer.simulator.config import SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]
DIALER_SERVICES = ("scheduler", "worker", "collector", "web")


def _services(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))["services"]
    return services


def test_the_sandbox_overlay_wires_every_service_to_the_simulator() -> None:
    base, overlay = _services("docker-compose.yml"), _services("docker-compose.sandbox.yml")
    assert set(DIALER_SERVICES) <= set(base)
    simulator = SimulatorConfig()
    for service in (*DIALER_SERVICES, "simulator"):
        env = overlay[service]["environment"]
        settings = Settings.model_validate(
            {key.removeprefix("DIALER_").lower(): value for key, value in env.items()}
        )
        assert settings.mtt_sb_url == "http://simulator:8090/v1/sb"
        assert settings.mtt_api_url == "http://simulator:8090/index.php"
        assert settings.msapi_url == "http://simulator:8090"
        assert settings.mtt_login == simulator.login
        assert settings.mtt_password.get_secret_value() == simulator.password.get_secret_value()
        assert settings.mtt_sip_id == simulator.sip_id
        assert settings.mtt_informer_method == simulator.informer_method
        assert settings.msapi_account_sid == simulator.account_sid
        assert settings.msapi_token.get_secret_value() == simulator.token.get_secret_value()
        assert settings.sandbox
    token = overlay["collector"]["environment"]["DIALER_WEBHOOK_TOKEN"]
    assert len(token) >= 16
    command = overlay["simulator"]["command"]
    port = command[command.index("--port") + 1]
    assert overlay["worker"]["environment"]["DIALER_MTT_SB_URL"].startswith(
        f"http://simulator:{port}/"
    )
    collector_port = base["collector"]["command"][base["collector"]["command"].index("--port") + 1]
    for route in ("call", "sms"):
        flag = f"--{route}-webhook"
        assert command[command.index(flag) + 1] == (
            f"http://collector:{collector_port}/hooks/{token}/mtt/{route}"
        )


def test_the_base_file_needs_no_simulator_and_no_env_file() -> None:
    base = _services("docker-compose.yml")
    assert "simulator" not in base
    for service in DIALER_SERVICES:
        env_files = base[service]["env_file"]
        assert all(entry["required"] is False for entry in env_files)
