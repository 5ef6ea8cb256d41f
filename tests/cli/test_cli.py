"""The command line as a user meets it: real processes, one-line errors, JSON last lines."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dialer.cli.main import cli
from tests.support.cli import assert_one_line_error, dialer, last_json
from tests.support.factories import campaign_toml


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(campaign_toml(name="cli", text="Привет, {name}"), encoding="utf-8")
    return path


CONTRACT_COMMANDS = [
    # The CLI of the contract (DESIGN.md) as it stands: each must be a real command.
    ("db", "upgrade"),
    ("campaign", "create"),
    ("campaign", "start"),
    ("campaign", "pause"),
    ("campaign", "resume"),
    ("campaign", "cancel"),
    ("load",),
    ("status",),
    ("export",),
    ("report",),
    ("dnc", "add"),
    ("dnc", "import"),
    ("dnc", "list"),
    ("dnc", "remove"),
    ("dnc", "history"),
    ("scheduler",),
    ("worker",),
    ("collector",),
    ("simulator",),
    ("run",),
]


@pytest.mark.parametrize("path", CONTRACT_COMMANDS, ids=" ".join)
def test_every_contract_command_exists_and_has_help(path: tuple[str, ...]) -> None:
    """Looked up in the command tree itself, not in the help's prose."""
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group), f"{name}: its parent is not a group"
        found = command.commands.get(name)
        assert found is not None, f"dialer {' '.join(path)}: no such command"
        command = found
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {' '.join(path)}")


def test_the_installed_entry_point_answers_help(tmp_path: Path) -> None:
    result = dialer(tmp_path, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: dialer [OPTIONS] COMMAND")


def test_flow_with_json(tmp_path: Path, toml: Path) -> None:
    assert last_json(dialer(tmp_path, "db", "upgrade", "--json").stdout)["revision"]
    created = last_json(dialer(tmp_path, "campaign", "create", str(toml), "--json").stdout)
    assert created == {
        "campaign": "cli",
        "id": 1,
        "channel": "tts",
        "state": "draft",
        "created": True,
    }
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("name,phone\nAnn,89161234567\nBob,+7 916 765 43 21\nBad,12\n", "utf-8")
    summary = last_json(dialer(tmp_path, "load", "cli", str(csv_path), "--json").stdout)
    assert {k: summary[k] for k in ("rows", "loaded", "rejected", "duplicates", "suppressed")} == {
        "rows": 3,
        "loaded": 2,
        "rejected": 1,
        "duplicates": 0,
        "suppressed": 0,
    }
    assert Path(str(summary["rejects_file"])).exists()
    added = last_json(dialer(tmp_path, "dnc", "add", "+7 (916) 765-43-21", "--json").stdout)
    assert added == {"added": 1, "listed": 1}
    status = last_json(dialer(tmp_path, "status", "cli", "--json").stdout)
    assert status["counts"]["pending"] == 1  # type: ignore[index]
    assert status["counts"]["opted_out"] == 1  # type: ignore[index]
    paused = dialer(tmp_path, "campaign", "pause", "cli")
    assert_one_line_error(paused, "campaign 'cli' is draft; cannot pause")
    cancelled = last_json(dialer(tmp_path, "campaign", "cancel", "cli", "--json").stdout)
    assert cancelled["state"] == "cancelled"
    out = tmp_path / "out.csv"
    exported = last_json(dialer(tmp_path, "export", "cli", "-o", str(out), "--json").stdout)
    assert exported["rows"] == 2
    assert str(exported["cursor"]).endswith("Z")
    again = tmp_path / "again.csv"
    since = "2999-01-01T00:00:00Z"  # a cursor from the future: nothing changed after it
    incremental = last_json(
        dialer(tmp_path, "export", "cli", "-o", str(again), "--since", since, "--json").stdout
    )
    assert (incremental["rows"], incremental["cursor"]) == (0, "2999-01-01T00:00:00.000000Z")
    assert again.read_text("utf-8-sig").startswith("campaign,phone,status")
    text = out.read_text("utf-8-sig")
    assert text.startswith("campaign,phone,status,outcome,attempts,last_cause,dtmf,dtmf_label")
    assert "79161234567,cancelled" in text
    assert "79167654321,opted_out" in text


def test_dnc_contact_loaded_later_is_exported_as_suppressed(tmp_path: Path, toml: Path) -> None:
    dialer(tmp_path, "campaign", "create", str(toml))
    numbers = tmp_path / "dnc.csv"
    numbers.write_text("телефон\n8 916 123 45 67\nnot a number\n", "utf-8")
    imported = last_json(dialer(tmp_path, "dnc", "import", str(numbers), "--json").stdout)
    assert {k: imported[k] for k in ("added", "listed", "rejected")} == {
        "added": 1,
        "listed": 1,
        "rejected": 1,
    }
    assert str(imported["rejects_file"]).endswith("dnc.dnc-rejects.csv")
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("name;phone\nAnn;79161234567\n", "cp1251")
    summary = last_json(dialer(tmp_path, "load", "cli", str(csv_path), "--json").stdout)
    assert summary["suppressed"] == 1
    out = tmp_path / "out.csv"
    dialer(tmp_path, "export", "cli", "-o", str(out))
    assert "79161234567,suppressed" in out.read_text("utf-8-sig")
    listed = dialer(tmp_path, "dnc", "list")
    assert "79161234567\timport" in listed.stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["campaign", "create", "missing.toml"], ["missing.toml", "file not found"]),
        (["load", "nope", "c.csv"], ["unknown campaign 'nope'"]),
        (["status", "nope"], ["unknown campaign 'nope'"]),
        (["campaign", "start", "nope"], ["unknown campaign 'nope'"]),
        (["dnc", "add", "not-a-phone"], ["'not-a-phone' is not a usable phone number"]),
        (["export", "nope", "-o", "x.csv"], ["unknown campaign 'nope'"]),
        (["export", "nope", "-o", "x.csv", "--since", "soon"], ["--since: 'soon' is not a cursor"]),
    ],
)
def test_user_mistakes_are_one_line(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    (tmp_path / "c.csv").write_text("phone\n79161234567\n", "utf-8")
    assert_one_line_error(dialer(tmp_path, *args), *needles)


def test_starting_a_campaign_with_no_contacts_is_refused(tmp_path: Path, toml: Path) -> None:
    """It would sit ``running`` forever with nothing to dial."""
    dialer(tmp_path, "campaign", "create", str(toml))
    assert_one_line_error(
        dialer(tmp_path, "campaign", "start", "cli"),
        "cannot start 'cli': no contacts loaded; load some first (dialer load cli FILE.csv)",
    )
    status = last_json(dialer(tmp_path, "status", "cli", "--json").stdout)
    assert status["state"] == "draft"


def test_unknown_campaign_key_and_missing_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(campaign_toml(name="b") + "[limits]\nrsp = 3\n", "utf-8")
    assert_one_line_error(
        dialer(tmp_path, "campaign", "create", str(bad)), "bad.toml", "limits.rsp", "unknown key"
    )
    good = tmp_path / "good.toml"
    good.write_text(campaign_toml(name="g"), "utf-8")
    dialer(tmp_path, "campaign", "create", str(good))
    assert_one_line_error(dialer(tmp_path, "load", "g", "nowhere.csv"), "nowhere.csv", "not found")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = dialer(tmp_path, "status", "x", db="postgresql://nobody:secret@127.0.0.1:1/none")
    assert_one_line_error(result, "database postgresql://nobody:***@127.0.0.1:1/none", "refused")
    assert "secret" not in result.stderr


@pytest.mark.timeout(300)
def test_the_readme_demo_runs_a_sandbox_campaign_to_the_end(tmp_path: Path) -> None:
    """``dialer run CAMPAIGN.toml FILE.csv --sandbox``, the README's first command."""
    campaigns = Path(__file__).resolve().parents[2] / "campaigns"
    shutil.copy(campaigns / "order-ready.toml", tmp_path / "order-ready.toml")
    shutil.copy(campaigns / "order-ready.csv", tmp_path / "order-ready.csv")
    without = dialer(tmp_path, "run", "order-ready.toml", "order-ready.csv", "--sandbox")
    assert_one_line_error(
        without,
        "order-ready.toml: menu digit 4 names callback campaign 'leads-callback'",
        "put leads-callback.toml beside order-ready.toml",
    )
    shutil.copy(campaigns / "leads-callback.toml", tmp_path / "leads-callback.toml")
    result = dialer(tmp_path, "run", "order-ready.toml", "order-ready.csv", "--sandbox")

    assert result.returncode == 0, result.stderr[-2000:]
    with (tmp_path / "order-ready-results.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 36  # 43 lines: 6 rejected, 1 duplicate
    assert {row["status"] for row in rows} <= {"reached", "not_reached", "invalid"}
    assert (tmp_path / "order-ready.rejects.csv").read_text("utf-8").count("\n") == 7
    html = (tmp_path / "order-ready-results-report.html").read_text("utf-8")
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    assert embedded is not None
    funnel = {step["key"]: step["count"] for step in json.loads(embedded.group(1))["funnel"]}
    assert funnel["loaded"] == funnel["dialled"] == 36
    # Digit 4 ("call me back") fed leads-callback: one callback contact per number that
    # pressed it, each called back (final) before the run ended.
    pressed = {row["phone"] for row in rows if row["dtmf"] == "4"}
    exported = dialer(tmp_path, "export", "leads-callback", "-o", "cb.csv")
    assert exported.returncode == 0, exported.stderr
    with (tmp_path / "cb.csv").open(encoding="utf-8-sig", newline="") as f:
        called_back = list(csv.DictReader(f))
    assert {row["phone"] for row in called_back} == pressed
    assert {row["status"] for row in called_back} <= {"reached", "not_reached"}
    assert all(row["source"] == "ivr:order-ready digit 4" for row in called_back)
