"""The ``dialer`` group and its commands."""

from __future__ import annotations

import click

from dialer import __version__
from dialer.cli.accounts import token, user
from dialer.cli.app import App, DialerGroup
from dialer.cli.campaign import campaign
from dialer.cli.connect import connect
from dialer.cli.data import export, load, status
from dialer.cli.db import db
from dialer.cli.dnc import dnc
from dialer.cli.report import report
from dialer.cli.services import collector, run, scheduler, simulator, worker
from dialer.cli.web import web
from dialer.logs import install_fallback_logging


@click.group(cls=DialerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dialer")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """dialer: outbound TTS, IVR, SMS and agent-callback campaigns on MTT.

    \b
    Typical flow:
      dialer db upgrade
      dialer campaign create campaigns/order-ready.toml
      dialer load order-ready campaigns/order-ready.csv
      dialer campaign start order-ready
      dialer status order-ready
      dialer export order-ready -o results.csv

    Or all in one process against the built-in MTT simulator:
      dialer run campaigns/order-ready.toml campaigns/order-ready.csv --sandbox

    Settings come from DIALER_* environment variables (see .env.example).
    """
    install_fallback_logging()
    ctx.obj = App()


for command in (
    db,
    campaign,
    load,
    status,
    export,
    report,
    dnc,
    connect,
    scheduler,
    worker,
    collector,
    simulator,
    run,
    web,
    user,
    token,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="dialer")
