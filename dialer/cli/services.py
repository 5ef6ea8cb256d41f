"""Long-running services: scheduler, worker, collector, simulator, and the all-in-one run."""

from __future__ import annotations

import errno
from pathlib import Path

import click

from dialer.cli.app import App, check_port, listen_error, pass_app
from dialer.logs import configure_logging

_LISTEN_ERRNOS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})
"""Why a server cannot listen: the port is taken, the address is not ours, or privileged."""


@click.command()
@pass_app
def scheduler(app: App) -> None:
    """Turn due contacts into queued attempts, within the limits, until SIGTERM.

    Also sweeps: expired dial leases become 'unknown', attempts with no final event after
    event_timeout are finished as 'unknown', lost queue messages are sent again. Needs
    DIALER_REDIS_URL (the distributed topology), reachable at start; if Redis or the database
    goes away later, the scheduler logs it, backs off and carries on. Writes a heartbeat that
    `dialer status` reads; two schedulers may run safely.
    """
    import signal
    import threading

    from dialer.dispatch.broker import build_broker, make_enqueue
    from dialer.outcomes.reconcile import build_reconciler
    from dialer.scheduler.loop import run_scheduler
    from dialer.scheduler.preflight import check_broker
    from dialer.scheduler.tick import tick_options

    configure_logging(app.settings.log_level, secrets=app.settings.secret_values())
    if not app.settings.redis_url:
        raise click.UsageError("set DIALER_REDIS_URL (or use `dialer run` for the embedded mode)")
    check_broker(app.settings.redis_url)
    app.engine  # noqa: B018 - check the schema before the first tick
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    broker = build_broker(app.settings)
    run_scheduler(
        app.engine,
        make_enqueue(broker),
        stop,
        options=tick_options(app.settings),
        reconcile=build_reconciler(app.settings),
    )


@click.command()
@click.option(
    "--processes",
    "-p",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes.",
)
@click.option(
    "--threads",
    "-t",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent dials per process.",
)
@pass_app
def worker(app: App, processes: int, threads: int) -> None:
    """Run Dramatiq workers that place calls and send SMS (DIALER_REDIS_URL broker).

    Rate limits hold across every worker process and host (Redis GCRA). SIGTERM (or Ctrl-C)
    stops gracefully: no new messages; dials still waiting for their rate token go back to
    the queue unspent; requests already sent finish and their results are recorded; then it
    exits.
    """
    from dialer.dispatch.worker import run_workers

    configure_logging(app.settings.log_level, secrets=app.settings.secret_values())
    if not app.settings.redis_url:
        raise click.UsageError("set DIALER_REDIS_URL (or use `dialer run` for the embedded mode)")
    app.engine  # noqa: B018 - check the schema before starting processes
    run_workers(app.settings, processes, threads)


@click.command()
@click.option(
    "--host", default="0.0.0.0", show_default=True, help="Address the webhook routes listen on."
)
@click.option(
    "--port", default=8080, show_default=True, type=int, help="Port of the webhook routes."
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address of the internal /healthz and /metrics listener (keep it off the internet).",
)
@click.option(
    "--metrics-port",
    default=9108,
    show_default=True,
    type=int,
    help="Port of /healthz and /metrics; 0 turns that listener off.",
)
@pass_app
def collector(app: App, host: str, port: int, metrics_host: str, metrics_port: int) -> None:
    """Serve the webhook routes MTT posts events to (/hooks/{token}/mtt/call|ivr|sms) on
    --host:--port, and /healthz and /metrics on the internal --metrics-host:--metrics-port
    (the public port answers 404 for them). Requires DIALER_WEBHOOK_TOKEN.

    A body slower than DIALER_BODY_TIMEOUT_SECONDS is answered 408; past
    DIALER_MAX_BODY_READS slow bodies (still arriving after 0.5 s) in progress, a slow one is
    answered 503 at once (MTT delivers again); bodies that arrive at once never wait. SIGTERM
    finishes the requests in flight and applies the events already stored, then exits."""
    from dialer.collector.server import ListenError, run_collector

    check_port("--port", port)
    check_port("--metrics-port", metrics_port, zero="off:")
    configure_logging(app.settings.log_level, secrets=app.settings.secret_values())
    if not app.settings.webhook_token.get_secret_value():
        raise click.UsageError("set DIALER_WEBHOOK_TOKEN: webhook routes need a secret token")
    broker_ping = None
    if app.settings.redis_url:
        import redis

        client = redis.Redis.from_url(app.settings.redis_url, socket_timeout=2)

        def broker_ping() -> bool:
            return bool(client.ping())

    try:
        run_collector(
            app.settings,
            app.engine,
            host,
            port,
            metrics_host=metrics_host,
            metrics_port=metrics_port or None,
            broker_ping=broker_ping,
        )
    except ListenError as exc:
        option = "--port" if exc.what == "webhooks" else "--metrics-port"
        raise listen_error(option, exc.host, exc.port, exc) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Simulator settings as JSON (outcome weights, overrides, faults, webhook URLs).",
)
@click.option("--speed", type=float, default=None, help="Time scale: 60 = a minute per second.")
@click.option("--call-webhook", default=None, help="URL the sb-api call events are posted to.")
@click.option("--sms-webhook", default=None, help="URL the msapi events are posted to.")
@pass_app
def simulator(
    app: App,
    host: str,
    port: int,
    config_path: Path | None,
    speed: float | None,
    call_webhook: str | None,
    sms_webhook: str | None,
) -> None:
    """Run the built-in MTT simulator: sb-api, msapi and the Telecom JSON-RPC, with the
    documented validation and error bodies, events posted back, faults on demand, and
    /_sim/stats for "no double dial, no burst" checks."""
    from dialer.sandbox import serve_simulator, simulator_config

    check_port("--port", port, zero="any free port:")
    configure_logging(app.settings.log_level, secrets=app.settings.secret_values())
    config = simulator_config(
        app.settings,
        config_path=config_path,
        speed=speed,
        call_webhook=call_webhook,
        sms_webhook=sms_webhook,
    )
    try:
        serve_simulator(config, host, port)
    except OSError as exc:
        if exc.errno not in _LISTEN_ERRNOS:
            raise
        raise listen_error("--port", host, port, exc) from None


@click.command()
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(path_type=Path))
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option("--sandbox", is_flag=True, help="Dial the built-in MTT simulator, not MTT.")
@click.option(
    "--speed",
    type=float,
    default=600.0,
    show_default=True,
    help="Sandbox only: time scale (> 0) for simulated calls and retry delays.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Export path.")
@click.option("--phone-column", default=None, help="Header of the phone column.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address the collector (MTT's webhooks) listens on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="The collector's port [default: 8080; with --sandbox a free port].",
)
@click.option(
    "--web",
    "web",
    is_flag=True,
    help="Also serve the console and API on 127.0.0.1:--web-port and print its address; "
    "in a terminal it stays up after the run until Ctrl-C. In a sandbox with no users yet it "
    "creates the admin 'demo' and prints its password.",
)
@click.option(
    "--web-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="The console's port with --web [default: 8000; with --sandbox a free port].",
)
@pass_app
def run(
    app: App,
    config_path: Path,
    csv_path: Path,
    sandbox: bool,
    speed: float,
    output: Path | None,
    phone_column: str | None,
    host: str,
    port: int | None,
    web: bool,
    web_port: int | None,
) -> None:
    """Run a whole campaign in one process: SQLite, an in-process broker and worker, the
    scheduler and the collector (and with --sandbox the MTT simulator, with time compressed
    and the calling window always open; the stored campaign stays as its file says). Shows
    progress, then prints a summary and writes the contacts export (default
    NAME-results.csv) and the HTML report beside it (NAME-results-report.html).

    Against MTT, set DIALER_PUBLIC_URL and DIALER_WEBHOOK_TOKEN and have your reverse proxy
    forward PUBLIC_URL/hooks/ to --host:--port. One run per database.

    A menu digit with action = "callback" feeds a callback campaign: when it does not exist
    yet, it is created from the file of its name beside CONFIG.toml, started with this one,
    and the run waits for its callbacks before it ends.

    \b
    Exit codes: 0 every contact final; 1 an error (one line);
    2 the provider refused and the campaign paused;
    3 the campaign was cancelled (`dialer campaign cancel`);
    130 paused by a user (Ctrl-C or SIGTERM here, or `dialer campaign pause`):
    running the same command again resumes."""
    import signal

    from dialer.runner.run import run_embedded

    # SIGTERM (docker stop, systemd, timeout) stops the run as Ctrl-C does: paused, cleanly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        code = run_embedded(
            app.settings,
            config_path,
            csv_path,
            sandbox=sandbox,
            speed=speed,
            output=output,
            phone_column=phone_column,
            host=host,
            port=port,
            web=("127.0.0.1", web_port if web_port is not None else 0 if sandbox else 8000)
            if web
            else None,
        )
    except KeyboardInterrupt:  # before dialling began: nothing to pause
        click.echo("interrupted", err=True)
        code = 130
    raise SystemExit(code)
