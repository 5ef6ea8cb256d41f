"""Dispatch in the distributed topology: rate utilisation, top speed, and campaign wall time.

Run from the repository root with PostgreSQL and Redis up::

    python bench/dispatch.py [--only a|b|c] [--repeat 3] [--quick] [--profile DIR]

Every run gets a fresh PostgreSQL database and a flushed Redis database (``--redis-url``,
DB 12 by default); the collector runs in this process, and the MTT simulator, one ``dialer
scheduler`` and two ``dialer worker`` processes run as subprocesses. Every contact answers and
every call ends within a few real milliseconds (simulator ``speed``). Times are wall-clock
seconds; when the simulator accepted each call comes from ``GET /_sim/calls``.

- (a) utilisation at 5, 50 and 200 rps with ``rps x 12`` contacts, until the last call is
  accepted: the achieved rate after a 2 s warm-up over the limit, the busiest 1-second window
  (the limiter promises at most limit + 1) and reused messIds (must be 0).
- (b) top speed: rps 1000 and max_concurrent 10000 (the schema's maxima), no simulator
  latency, 16 and 32 threads per worker: attempts per second from the first accepted call to
  the last, the time until the campaign is ``completed``, and CPU milliseconds per call of
  each process. ``--profile DIR`` records the scheduler and a worker with py-spy.
- (c) wall time at rps 20 with 400 contacts: seconds from ``campaign start`` to the last
  accepted call over N / rps (goal <= 1.05), and the same until ``completed``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dialer.campaign.config import parse_config
from dialer.campaign.store import create_campaign, get_campaign
from dialer.collector.server import CollectorServer
from dialer.control import control_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.migrate import upgrade
from dialer.embedded import wait_until_done
from dialer.limits.measure import achieved_rate, peak_in_window
from dialer.loader.load import load_contacts
from dialer.sandbox import hook_url
from dialer.settings import Settings
from dialer.simulator.config import OutcomeWeights, SimulatorConfig

# The process harness is shared with tests/dispatch/test_distributed.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.processes import (
    Processes,
    dialer_command,
    dialer_env,
    reachable,
    simulator_process,
    wait_until,
)
from tests.support.services import fresh_database

TOKEN = "bench-token-0123456789"
CAMPAIGN = "bench"
WORKERS = 2
WARMUP_SECONDS = 2.0
"""Calls accepted within this many seconds of the first are left out of the rate in (a)."""
SIM_SPEED = 1000.0
"""Simulated seconds per real second: an answered 1-second message ends within ~30 ms."""

RATES_A = (5, 50, 200)
CONTACTS_PER_RPS_A = 12
THREADS_B = (16, 32)
CONTACTS_B = 2000
RPS_C, CONTACTS_C = 20, 400


@dataclass
class Run:
    """One campaign: when it started, when the simulator accepted each call and when the
    campaign completed (wall-clock seconds since the epoch), and the simulator's counters."""

    started: float
    accepted: list[float]
    completed: float | None
    """``None`` when the run stopped at the last accepted call."""
    stats: dict[str, Any]
    contacts: int
    cpu: dict[str, float]
    """CPU seconds each process spent during the run."""

    @property
    def reused_mess_ids(self) -> int:
        return len(self.stats["reused_mess_ids"])

    @property
    def missing(self) -> int:
        """Contacts never called (a dial whose answer was lost is never sent again)."""
        return self.contacts - len(self.stats["calls_by_number"])

    def check(self) -> None:
        """No number was called twice and no messId was used twice."""
        most = max(self.stats["calls_by_number"].values(), default=0)
        if most > 1 or self.reused_mess_ids:
            raise RuntimeError(
                f"double dial: {most} calls to one number, {self.reused_mess_ids} reused messIds"
            )


@dataclass
class Cluster:
    settings: Settings
    engine: Engine
    sim_url: str
    processes: Processes
    tmp: Path
    pids: dict[str, int]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(c: Cluster) -> dict[str, float]:
    """CPU seconds of each service, this process (the collector) and the database's
    PostgreSQL backends."""
    snapshot = {name: cpu_seconds(pid) for name, pid in c.pids.items()}
    snapshot["collector"] = cpu_seconds(os.getpid())
    database = c.settings.database_url.rsplit("/", 1)[1].encode()
    backends = 0.0
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and command.startswith(b"postgres:") and database in command:
            backends += cpu_seconds(int(entry.name))
    snapshot["postgres"] = backends
    return snapshot


def process_env(settings: Settings, app_name: str) -> dict[str, str]:
    """The ``DIALER_*`` environment of one service. ``app_name`` tags its PostgreSQL
    connections, so the bench can see that it has connected."""
    url = f"{settings.database_url}?application_name={app_name}"
    return dialer_env(settings, TOKEN, database_url=url)


def connected_apps(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT DISTINCT application_name FROM pg_stat_activity "
                "WHERE datname = current_database()"
            )
        )
        return {str(row[0]) for row in rows}


def simulator_config(collector_url: str, latency_ms: float) -> SimulatorConfig:
    """Every call answered; a 1-second message at ``SIM_SPEED``."""
    sim = SimulatorConfig(
        speed=SIM_SPEED,
        seed=1,
        listen_seconds=(1, 1),
        call_webhook_url=hook_url(collector_url, TOKEN, "call"),
        outcome_weights=OutcomeWeights(
            answered=1, busy=0, no_answer=0, absent=0, unallocated=0, network=0
        ),
    )
    faults = sim.faults.model_copy(update={"latency_ms": (latency_ms, latency_ms)})
    return sim.model_copy(update={"faults": faults})


@contextmanager
def cluster(
    args: argparse.Namespace, *, threads: int, latency_ms: float = 0.0
) -> Iterator[Cluster]:
    """The distributed topology on fresh databases, ready to dial; all stopped on exit."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dialer-bench-")))
        url = stack.enter_context(fresh_database(args.pg_admin_url, "dialer_bench"))
        client = redis.Redis.from_url(args.redis_url)
        client.flushdb()
        stack.callback(client.close)
        stack.callback(client.flushdb)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        upgrade(engine)
        base = Settings(database_url=url, redis_url=args.redis_url, webhook_token=SecretStr(TOKEN))
        collector = CollectorServer(base, engine)
        stack.callback(collector.stop)
        sim = simulator_config(collector.start(), latency_ms)
        simulator = simulator_process(base, sim, tmp)
        settings, sim_url = simulator.settings, simulator.url
        processes = Processes(tmp)
        if args.keep_logs:
            stack.callback(shutil.copytree, tmp, args.keep_logs / tmp.name, dirs_exist_ok=True)
        stack.callback(processes.stop_all)
        dialer = dialer_command()
        sim_argv = [*dialer, *simulator.argv]
        pids = {"simulator": processes.spawn("simulator", sim_argv, process_env(base, "sim")).pid}
        wait_until(lambda: reachable(f"{sim_url}/_sim/stats"), "simulator")
        scheduler_env = process_env(settings, "scheduler")
        pids["scheduler"] = processes.spawn("scheduler", [*dialer, "scheduler"], scheduler_env).pid
        for index in range(WORKERS):
            name = f"worker-{index}"
            argv = [*dialer, "worker", "--threads", str(threads)]
            pids[name] = processes.spawn(name, argv, process_env(settings, name)).pid
        apps = {"scheduler", *(f"worker-{i}" for i in range(WORKERS))}
        wait_until(lambda: apps <= connected_apps(engine), "scheduler and workers")
        # A worker's broker heartbeats on its first fetch: then it is consuming.
        heartbeats = "dramatiq:__heartbeats__"
        wait_until(lambda: client.zcard(heartbeats) >= WORKERS, "workers consuming")
        c = Cluster(settings, engine, sim_url, processes, tmp, pids)
        stack.callback(quiesce, c)
        yield c


def quiesce(c: Cluster) -> None:
    """Drop the simulator's undelivered events and let the collector apply what it stored,
    so nothing is left running into a dropped database (or the next run's CPU)."""
    try:
        httpx.post(f"{c.sim_url}/_sim/reset", timeout=30)
        wait_until(lambda: not pending_events(c), "pending events", timeout=60, interval=0.2)
    except (httpx.HTTPError, TimeoutError) as exc:
        print(f"warning: could not quiesce the cluster: {exc}", file=sys.stderr)


def pending_events(c: Cluster) -> int:
    with c.engine.connect() as connection:
        query = text("SELECT count(*) FROM events WHERE status = 'pending'")
        return int(connection.execute(query).scalar_one())


def campaign_toml(rps: float, max_concurrent: int) -> str:
    return f"""
name = "{CAMPAIGN}"
channel = "tts"
[message]
text = "Здравствуйте, {{name}}! Ваш заказ готов."
caller_id = "74950000000"
[schedule]
window = "00:00-24:00"
[limits]
rps = {rps}
max_concurrent = {max_concurrent}
[retry]
max_attempts = 1
event_timeout = "60s"
"""


def all_dialled(c: Cluster, contacts: int) -> bool:
    """Every contact's call was accepted, or nothing is left to dial."""
    if httpx.get(f"{c.sim_url}/_sim/stats", timeout=30).json()["calls_accepted"] >= contacts:
        return True
    with c.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM contacts WHERE status IN ('pending', 'retry_wait'))"
                " + (SELECT count(*) FROM attempts WHERE status IN ('queued', 'dialing'))"
            )
        ).scalar_one()
    return not waiting


def progress(c: Cluster) -> str:
    """Contacts, attempts and events by status, and the simulator's counts (a stuck run)."""
    with c.engine.connect() as connection:
        counts = {
            table: {
                str(status): int(count)
                for status, count in connection.execute(
                    text(f"SELECT status, count(*) FROM {table} GROUP BY 1")
                )
            }
            for table in ("contacts", "attempts", "events")
        }
    stats = httpx.get(f"{c.sim_url}/_sim/stats", timeout=30).json()
    keys = ("calls_accepted", "webhooks_sent", "webhooks_failed", "active_calls", "pending_tasks")
    simulator = {key: stats.get(key) for key in keys}
    return f"{counts} simulator {simulator}"


def run_campaign(
    c: Cluster,
    *,
    rps: float,
    max_concurrent: int,
    contacts: int,
    timeout: float,
    until_completed: bool = True,
) -> Run:
    """Create and load the campaign, start it, and wait until it is completed (or, without
    ``until_completed``, until every call is accepted). Raises on a double dial."""
    with session_scope(c.engine) as session:
        create_campaign(session, parse_config(campaign_toml(rps, max_concurrent)))
    csv = c.tmp / "contacts.csv"
    rows = "".join(f"n{i},7916{i:07d}\n" for i in range(1, contacts + 1))
    csv.write_text("name,phone\n" + rows, encoding="utf-8")
    load_contacts(c.engine, CAMPAIGN, csv)
    cpu_before = cpu_snapshot(c)
    started = time.time()
    control_campaign(c.settings, c.engine, CAMPAIGN, "start")
    finished: datetime | None = None
    try:
        if not until_completed:
            wait_until(lambda: all_dialled(c, contacts), "dialling", timeout, interval=0.2)
        elif (state := wait_until_done(c.engine, CAMPAIGN, timeout)) != "completed":
            raise RuntimeError(f"campaign ended {state}, not completed")
    except TimeoutError:
        raise TimeoutError(f"not done after {timeout:g} s: {progress(c)}") from None
    cpu = {k: v - cpu_before[k] for k, v in cpu_snapshot(c).items()}
    if until_completed:
        with session_scope(c.engine) as session:
            finished = get_campaign(session, CAMPAIGN).finished_at
    calls = httpx.get(f"{c.sim_url}/_sim/calls", params={"limit": contacts * 2}, timeout=30)
    stats = httpx.get(f"{c.sim_url}/_sim/stats", timeout=30).json()
    accepted = sorted(
        datetime.fromisoformat(call["accepted_at"]).timestamp() for call in calls.json()["calls"]
    )
    completed = finished.timestamp() if finished else None
    run = Run(started, accepted, completed, stats, contacts, cpu)
    run.check()
    return run


@contextmanager
def profiled(c: Cluster, out: Path | None, label: str) -> Iterator[None]:
    """py-spy (GIL samples) on the scheduler and the first worker: collapsed stacks in
    ``out``. Does nothing without ``out``."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name in ("scheduler", "worker-0"):
        argv = ["py-spy", "record", "--gil", "--nonblocking", "--rate", "200", "--format"]
        argv += ["raw", "--pid", str(c.pids[name]), "-o", str(out / f"{label}-{name}.txt")]
        spies.append(c.processes.spawn(f"py-spy-{name}", argv).pid)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        for pid in spies:
            c.processes.stop(pid, signal.SIGINT)


def median(values: list[float]) -> float:
    return statistics.median(values)


def show(values: list[float], spec: str) -> str:
    return " ".join(format(value, spec) for value in values)


def scenario_a(args: argparse.Namespace) -> None:
    print(
        f"\n(a) utilisation: {WORKERS} workers x 16 threads, N = rps x {args.per_rps}, "
        f"max_concurrent 2000, rate after a {WARMUP_SECONDS:g} s warm-up, until the last accept"
    )
    print(
        f"{'rps':>5} {'N':>5} {'achieved':>9} {'util':>6} {'peak/1s':>8} {'limit+1':>7} "
        f"{'reused':>6} {'missing':>7}  util per run; peak per run"
    )
    for rps in args.rates:
        contacts = rps * args.per_rps
        runs = []
        for _ in range(args.repeat):
            with cluster(args, threads=16) as c:
                timeout = contacts / rps * 5 + 60
                runs.append(
                    run_campaign(
                        c,
                        rps=rps,
                        max_concurrent=2000,
                        contacts=contacts,
                        timeout=timeout,
                        until_completed=False,
                    )
                )
        steady = [[t for t in r.accepted if t >= r.accepted[0] + WARMUP_SECONDS] for r in runs]
        util = [achieved_rate(s) / rps for s in steady]
        peaks = [float(peak_in_window(r.accepted)) for r in runs]
        print(
            f"{rps:>5} {contacts:>5} {median(util) * rps:>9.2f} {median(util):>6.3f} "
            f"{median(peaks):>8g} {rps + 1:>7} {sum(r.reused_mess_ids for r in runs):>6} "
            f"{sum(r.missing for r in runs):>7}  {show(util, '.3f')}; {show(peaks, 'g')}"
        )


CPU_COLUMNS = ("simulator", "collector", "worker-0", "worker-1", "scheduler", "postgres")


def scenario_b(args: argparse.Namespace) -> None:
    contacts = args.contacts_b
    print(
        f"\n(b) top speed: rps 1000, max_concurrent 10000, N = {contacts}, {WORKERS} workers, "
        "no simulator latency; attempts/s from the first to the last accepted call"
    )
    print(
        f"{'threads':>7} {'attempts/s':>10} {'1st acc.':>8} {'last acc.':>9} {'completed':>9} "
        f"{'reused':>6} {'missing':>7}  attempts/s per run; completed per run"
    )
    cpu_lines = []
    for threads in THREADS_B:
        runs = []
        for index in range(args.repeat):
            with (
                cluster(args, threads=threads) as c,
                profiled(c, args.profile, f"b-t{threads}-{index}"),
            ):
                runs.append(
                    run_campaign(c, rps=1000, max_concurrent=10_000, contacts=contacts, timeout=300)
                )
        rates = [achieved_rate(r.accepted) for r in runs]
        first = [r.accepted[0] - r.started for r in runs]
        last = [r.accepted[-1] - r.started for r in runs]
        done = [(r.completed or 0) - r.started for r in runs]
        print(
            f"{threads:>7} {median(rates):>10.1f} {median(first):>7.2f}s {median(last):>8.2f}s "
            f"{median(done):>8.2f}s {sum(r.reused_mess_ids for r in runs):>6} "
            f"{sum(r.missing for r in runs):>7}  {show(rates, '.1f')}; {show(done, '.1f')}"
        )
        per_call = {
            name: median([r.cpu[name] * 1000 / len(r.accepted) for r in runs])
            for name in CPU_COLUMNS
        }
        cpu_lines.append(
            f"{threads:>7} {sum(per_call.values()):>6.1f}  "
            + " ".join(f"{per_call[name]:>9.1f}" for name in CPU_COLUMNS)
        )
    print("CPU ms per call, whole run until completed (median):")
    print(f"{'threads':>7} {'total':>6}  " + " ".join(f"{name:>9}" for name in CPU_COLUMNS))
    print("\n".join(cpu_lines))


def scenario_c(args: argparse.Namespace) -> None:
    contacts = args.contacts_c
    ideal = contacts / RPS_C
    print(
        f"\n(c) wall time: rps {RPS_C}, N = {contacts}, N/rps = {ideal:g} s, from `campaign "
        "start`; goal: last accept / (N/rps) <= 1.05"
    )
    print(
        f"{'run':>6} {'1st acc.':>8} {'last acc.':>9} {'ratio':>6} {'completed':>9} "
        f"{'ratio':>6} {'reused':>6} {'missing':>7}"
    )
    to_last, to_done = [], []
    for index in range(args.repeat):
        with cluster(args, threads=16) as c:
            run = run_campaign(
                c, rps=RPS_C, max_concurrent=2000, contacts=contacts, timeout=ideal + 120
            )
        to_last.append(run.accepted[-1] - run.started)
        to_done.append((run.completed or 0) - run.started)
        print(
            f"{index + 1:>6} {run.accepted[0] - run.started:>7.2f}s {to_last[-1]:>8.2f}s "
            f"{to_last[-1] / ideal:>6.3f} {to_done[-1]:>8.2f}s {to_done[-1] / ideal:>6.3f} "
            f"{run.reused_mess_ids:>6} {run.missing:>7}"
        )
    print(
        f"{'median':>6} {'':>8} {median(to_last):>8.2f}s {median(to_last) / ideal:>6.3f} "
        f"{median(to_done):>8.2f}s {median(to_done) / ideal:>6.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", choices=("a", "b", "c"), help="run one scenario")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--quick", action="store_true", help="1 run per row, fewer contacts")
    parser.add_argument("--rates", type=lambda v: [int(r) for r in v.split(",")], default=None)
    parser.add_argument("--contacts-b", type=int, default=CONTACTS_B, help="N in (b)")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--profile", type=Path, help="py-spy output directory, for (b)")
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C: the services are stopped and the databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.rates = args.rates or list(RATES_A)
    args.per_rps, args.contacts_c = CONTACTS_PER_RPS_A, CONTACTS_C
    if args.quick:
        args.repeat, args.per_rps, args.contacts_c = 1, 6, 200
        args.contacts_b = min(args.contacts_b, 1500)
    begun = time.monotonic()
    print(f"dispatch bench: {os.cpu_count()} cores, median of {args.repeat} run(s) per row")
    for key, scenario in {"a": scenario_a, "b": scenario_b, "c": scenario_c}.items():
        if args.only in (None, key):
            scenario(args)
    print(f"\ntotal {time.monotonic() - begun:.0f} s")


if __name__ == "__main__":
    main()
