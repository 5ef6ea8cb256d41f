"""``dialer campaign``: register campaigns and change their state."""

from __future__ import annotations

from pathlib import Path

import click

from dialer.cli.app import App, emit, json_option, pass_app


@click.group()
def campaign() -> None:
    """Register campaigns and start, pause, resume or cancel them."""


@campaign.command("create")
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(path_type=Path))
@json_option
@pass_app
def create(app: App, config_path: Path, as_json: bool) -> None:
    """Register a campaign from its TOML file (see campaigns/*.toml).

    Creating the same file again is a no-op; another file under the same name is refused.
    """
    from dialer.campaign.config import load_config
    from dialer.campaign.store import create_campaign
    from dialer.db.engine import session_scope

    config = load_config(config_path)
    with session_scope(app.engine) as session:
        row, created = create_campaign(session, config, str(config_path))
        payload = {"campaign": row.name, "id": row.id, "channel": row.channel, "state": row.state}
    verb = "created" if created else "already registered"
    emit(
        as_json,
        {**payload, "created": created},
        f"campaign {config.name!r} {verb} (id {payload['id']})",
    )


def _state_command(action: str, help_text: str) -> click.Command:
    @click.command(action, help=help_text)
    @click.argument("campaign_ref", metavar="CAMPAIGN")
    @json_option
    @pass_app
    def command(app: App, campaign_ref: str, as_json: bool) -> None:
        from dialer.campaign.store import USER_PAUSE_REASON
        from dialer.control import control_campaign

        reason = {"pause": USER_PAUSE_REASON, "cancel": "cancelled by user"}.get(action)
        state = control_campaign(app.settings, app.engine, campaign_ref, action, reason=reason)
        emit(
            as_json,
            {"campaign": campaign_ref, "state": state},
            f"campaign {campaign_ref!r}: {state}",
        )

    return command


campaign.add_command(
    _state_command(
        "start",
        "Start dialling (pre-flight: balance floor, SMS sender number, https webhook for IVR).",
    )
)
campaign.add_command(
    _state_command("pause", "Stop handing out new attempts; calls in flight finish.")
)
campaign.add_command(_state_command("resume", "Resume a paused campaign."))
campaign.add_command(
    _state_command("cancel", "Cancel: waiting contacts become 'cancelled'; calls in flight finish.")
)
