"""Export speed and peak memory: ``export_campaign`` against a raw cursor-to-csv.writer floor.

Run by hand from the repository root::

    python bench/export.py [--rows 1000000 | --quick] [--repeat 3] [--db POSTGRES_URL]
                           [--only csv,xlsx,parquet,attempts] [--keep DIR] [--profile]

A database is seeded once: SQLite in a temp dir (or under ``--keep DIR``, reused when it
already holds the campaigns), or with ``--db`` a throwaway database created on that PostgreSQL
server and dropped afterwards. The schema comes from the migrations; the campaigns (ivr, the
test factories' menu: 1 pickup, 3 operator, 9 stop) from ``make_campaign``. Contacts and
attempts are inserted raw (``executemany`` / ``COPY``): ``--rows`` contacts (``--quick``:
100,000) in statuses reached, retry_wait, pending, not_reached, in_progress, invalid and
opted_out, about one attempt per contact (busy, no answer, unreachable, network failures, DTMF
choices with labels, transfers), and the original CSV columns in ``fields_json`` (ФИО, Телефон,
Номер заказа, Город, сумма; some of them formula-like). A second campaign of ``rows / 10``
contacts shows how memory grows with the export's size.

Every measurement runs in a fresh child process, so its peak RSS is its own: the child imports
everything (the module, ``openpyxl`` or ``pyarrow`` for those formats), builds the engine, reads
its RSS (the baseline), times the export, and reports its peak RSS (``VmHWM``). Each repeat
measures:

- floors: a raw DB-API cursor (``sqlite3``; psycopg's server-side cursor on PostgreSQL) runs
  ``SELECT <the columns the export reads> ... WHERE campaign_id = ? ORDER BY id`` and streams
  the rows into ``csv.writer`` (UTF-8 with BOM), one for contacts and one for attempts;
- ``export_campaign`` to csv, xlsx and parquet at contacts level and to csv at attempts level;
- ``export_campaign`` to csv at contacts level for the ``rows / 10`` campaign.

Printed: per-repeat lines, then a table of medians (seconds, rows/s, peak and baseline RSS,
their difference, the output size, and the median of the per-repeat ratios export time / floor
time of the same level), a summary line per measurement, and the peak RSS of the csv export at
``rows / 10`` and ``rows``. ``--profile`` adds one csv contacts export under ``cProfile``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from dialer.db.engine import make_engine
from dialer.db.migrate import upgrade
from dialer.db.models import Attempt, Contact
from dialer.export.attempts import SOURCE_COLUMNS as attempt_columns
from dialer.export.contacts import SOURCE_COLUMNS as contact_columns
from dialer.export.run import export_campaign

# The campaign factories are shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.factories import make_campaign, make_config
from tests.support.services import fresh_database

CAMPAIGN = "bench"
TENTH = "bench-tenth"
TEXT = "Здравствуйте, {ФИО}! Ваш заказ {Номер заказа} готов к выдаче."
SEED_BATCH = 50_000

# Seeded rows are tuples of every column in the tables' own order.
CONTACT_SEED_COLUMNS = tuple(Contact.__table__.columns.keys())  # type: ignore[attr-defined]
ATTEMPT_SEED_COLUMNS = tuple(Attempt.__table__.columns.keys())  # type: ignore[attr-defined]

# What the export reads, for the floors.
FLOOR_CONTACT_COLUMNS = (*(c.key for c in contact_columns), "fields_json")
FLOOR_ATTEMPT_COLUMNS = tuple(c.key for c in attempt_columns)

# Contact statuses and their weights: the mean is one attempt per contact.
STATUS_WEIGHTS = {
    "reached": 45,  # 1 attempt
    "retry_wait": 20,  # 1
    "pending": 10,  # 0
    "not_reached": 10,  # 2
    "in_progress": 5,  # 1, still live
    "invalid": 5,  # 1
    "opted_out": 5,  # 1
}
CAUSES = {"answered": 16, "opted_out": 16, "busy": 17, "no_answer": 19, "unreachable": 20}
DTMF_LABELS = {"1": "pickup", "3": "operator", "9": "stop"}
TRANSFER_TO = "74997090111"
SURNAMES = ("Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Соколов", "Лебедев")
FIRST_NAMES = ("Иван", "Пётр", "Анна", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена")
CITIES = ("Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Самара")
ZONES = ("Europe/Moscow",) * 6 + ("Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Samara")
AMOUNTS = ("=1+2", "-500", "+7 916 000-00-00", "@SUM(A1:A9)", '=HYPERLINK("http://x")')
BASE = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
BASE_NAIVE = BASE.replace(tzinfo=None)


@dataclass(frozen=True)
class Measure:
    name: str
    level: str
    fmt: str


MEASURES = {
    "csv": Measure("csv contacts", "contacts", "csv"),
    "xlsx": Measure("xlsx contacts", "contacts", "xlsx"),
    "parquet": Measure("parquet contacts", "contacts", "parquet"),
    "attempts": Measure("csv attempts", "attempts", "csv"),
}


# --- seeding -------------------------------------------------------------------------------


def _stamper(sqlite: bool) -> Any:
    """Seconds after ``BASE`` → what the raw driver stores (SQLAlchemy's SQLite text format,
    an aware datetime for psycopg)."""
    if sqlite:
        return lambda s: (BASE_NAIVE + timedelta(seconds=s)).isoformat(" ", "microseconds")
    return lambda s: BASE + timedelta(seconds=s)


def build_chunk(
    rng: random.Random,
    campaign_id: int,
    first_contact: int,
    first_attempt: int,
    start: int,
    count: int,
    sqlite: bool,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Contacts ``start .. start + count`` of a campaign (ids from ``first_contact +
    start``) and their attempts (ids from ``first_attempt``), as seed column tuples."""
    ts = _stamper(sqlite)
    statuses = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count)
    contacts: list[tuple[Any, ...]] = []
    attempts: list[tuple[Any, ...]] = []
    attempt_id = first_attempt
    for offset, status in enumerate(statuses):
        index = start + offset
        contact_id = first_contact + index
        # index * 3**18 mod 10**9 is a permutation: numbers unique within the campaign.
        national = f"9{(index * 387_420_489 + 12_345) % 10**9:09d}"
        phone = "7" + national
        zone = ZONES[index % len(ZONES)]
        amount = rng.choice(AMOUNTS) if rng.random() < 0.1 else f"{rng.randrange(100, 99999)}.00"
        fields = {
            "ФИО": f"{rng.choice(SURNAMES)} {rng.choice(FIRST_NAMES)}",
            "Телефон": f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}",
            "Номер заказа": f"A-{index + 10000}",
            "Город": rng.choice(CITIES),
            "сумма": amount,
        }
        created = (index * 7) % 50_000
        if status == "pending":
            plan: tuple[str | None, ...] = ()
        elif status == "reached":
            plan = ("answered",)
        elif status == "retry_wait":
            plan = (rng.choice(("busy", "no_answer", "network")),)
        elif status == "not_reached":
            plan = ("no_answer", rng.choice(("busy", "no_answer", "unreachable")))
        elif status == "in_progress":
            plan = (None,)
        elif status == "invalid":
            plan = ("invalid_number",)
        else:
            plan = ("opted_out",)
        last: dict[str, Any] = {}
        budget = 0
        at = created + 60
        for number, outcome in enumerate(plan):
            cause: int | None = CAUSES.get(outcome or "")
            if outcome == "invalid_number":
                cause = rng.choice((1, 28))
            dtmf = None
            if outcome == "answered":
                roll = rng.random()
                dtmf = "1" if roll < 0.5 else "3" if roll < 0.7 else None
            elif outcome == "opted_out":
                dtmf = "9"
            answered = outcome in ("answered", "opted_out")
            duration = rng.randrange(5, 90) if answered else (0 if cause else None)
            transfer = rng.randrange(30, 300) if dtmf == "3" else None
            network = outcome == "network"
            live = outcome is None
            finished = None if live else at + 8 + (duration or 22)
            budget += 0 if network else 1
            attempts.append(
                (
                    attempt_id,
                    campaign_id,
                    contact_id,
                    "ivr",
                    "submitted" if live else "failed" if network else "completed",
                    outcome,
                    None if network else f"{attempt_id * 2_654_435_761 % 2**64:016x}{index:08x}",
                    phone,
                    not network,
                    2 if network else 1,
                    cause,
                    duration,
                    dtmf,
                    DTMF_LABELS.get(dtmf or ""),
                    TRANSFER_TO if transfer else None,
                    16 if transfer else None,
                    transfer,
                    None,
                    "ConnectError: [Errno 111] Connection refused" if network else None,
                    ts(at),
                    ts(at),
                    None,
                    ts(at + 1),
                    None if network else ts(at + 2),
                    ts(at + 8) if answered else None,
                    None if finished is None else ts(finished),
                    None if finished is None else ts(finished),
                    ts(finished if finished is not None else at + 2),
                )
            )
            last = {
                "id": attempt_id,
                "at": at + 1,
                "outcome": outcome,
                "cause": cause,
                "duration": duration,
                "dtmf": dtmf,
                "transfer": transfer,
                "updated": finished if finished is not None else at + 2,
            }
            attempt_id += 1
            at += 3600 * (number + 1)
        if status == "retry_wait":
            reason: str | None = f"retry after {last['outcome']}"
        elif status == "not_reached":
            reason = f"2 attempts used ({last['outcome']})"
        elif status in ("reached", "invalid", "opted_out"):
            reason = f"final: {last['outcome']}"
        else:
            reason = None
        contacts.append(
            (
                contact_id,
                campaign_id,
                phone,
                status,
                last.get("outcome"),
                reason,
                len(plan),
                budget,
                ts(last["updated"] + 900) if status == "retry_wait" else None,
                zone,
                zone,
                "RU",
                index + 2,
                json.dumps(fields, ensure_ascii=False),
                last.get("id"),
                ts(last["at"]) if last else None,
                last.get("cause"),
                last.get("duration"),
                last.get("dtmf"),
                DTMF_LABELS.get(last.get("dtmf") or ""),
                last.get("transfer"),
                None,
                ts(last.get("updated", created)),
            )
        )
    return contacts, attempts


def _placeholders(columns: Sequence[str]) -> str:
    return f"({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def seed(url: str, sizes: dict[str, int], seed_value: int = 2026) -> None:
    """Migrate, create the campaigns (name → contacts) and insert their rows raw."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        ids = {
            name: make_campaign(engine, make_config(name=name, channel="ivr", text=TEXT))
            for name in sizes
        }
    finally:
        engine.dispose()
    sqlite = url.startswith("sqlite")
    rng = random.Random(seed_value)
    next_contact, next_attempt = 1, 1
    with _seed_connection(url) as (insert, commit):
        for name, rows in sizes.items():
            for start in range(0, rows, SEED_BATCH):
                contacts, attempts = build_chunk(
                    rng,
                    ids[name],
                    next_contact,
                    next_attempt,
                    start,
                    min(SEED_BATCH, rows - start),
                    sqlite,
                )
                insert("contacts", CONTACT_SEED_COLUMNS, contacts)
                insert("attempts", ATTEMPT_SEED_COLUMNS, attempts)
                commit()
                next_attempt += len(attempts)
            next_contact += rows


@contextlib.contextmanager
def _seed_connection(url: str) -> Iterator[tuple[Any, Any]]:
    """``(insert(table, columns, rows), commit())`` on a raw connection: ``executemany`` on
    SQLite, ``COPY`` on PostgreSQL (sequences moved past the ids and ANALYZE at the end)."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN")

        def insert_sqlite(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
            connection.executemany(f"INSERT INTO {table} {_placeholders(columns)}", rows)

        def commit_sqlite() -> None:
            connection.execute("COMMIT")
            connection.execute("BEGIN")

        try:
            yield insert_sqlite, commit_sqlite
            connection.execute("COMMIT")
        finally:
            connection.close()
        return
    with psycopg.connect(_psycopg_url(url)) as pg:

        def insert_pg(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with pg.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)

        yield insert_pg, pg.commit
        for table in ("contacts", "attempts"):
            pg.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), max(id)) FROM {}").format(
                    sql.Literal(table), sql.Identifier(table)
                )
            )
        pg.commit()
        pg.autocommit = True
        pg.execute("ANALYZE")


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def seeded_rows(url: str) -> dict[str, int]:
    """Contacts per campaign name in an existing SQLite file (for ``--keep``)."""
    connection = sqlite3.connect(make_url(url).database or "")
    try:
        return dict(
            connection.execute(
                "SELECT c.name, count(*) FROM contacts JOIN campaigns c ON c.id = campaign_id "
                "GROUP BY c.name"
            ).fetchall()
        )
    except sqlite3.Error:
        return {}
    finally:
        connection.close()


# --- the child process ---------------------------------------------------------------------


def _status_kib(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process in KiB (``ru_maxrss`` without ``/proc``)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _floor_sqlite(url: str, campaign: str, level: str, out: Path) -> tuple[int, float, int]:
    """(rows, seconds, baseline KiB): the raw SELECT streamed into csv.writer."""
    connection = sqlite3.connect(make_url(url).database or "")
    try:
        (campaign_id,) = connection.execute(
            "SELECT id FROM campaigns WHERE name = ?", (campaign,)
        ).fetchone()
        columns = FLOOR_CONTACT_COLUMNS if level == "contacts" else FLOOR_ATTEMPT_COLUMNS
        table = "contacts" if level == "contacts" else "attempts"
        query = f"SELECT ?, {', '.join(columns)} FROM {table} WHERE campaign_id = ? ORDER BY id"
        baseline = _status_kib("VmRSS")
        started = time.perf_counter()
        rows = 0
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("campaign", *columns))
            cursor = connection.execute(query, (campaign, campaign_id))
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
                rows += len(batch)
        return rows, time.perf_counter() - started, baseline
    finally:
        connection.close()


def _floor_postgres(url: str, campaign: str, level: str, out: Path) -> tuple[int, float, int]:
    """(rows, seconds, baseline KiB): a server-side cursor streamed into csv.writer."""
    with psycopg.connect(_psycopg_url(url)) as connection:
        row = connection.execute("SELECT id FROM campaigns WHERE name = %s", (campaign,)).fetchone()
        assert row is not None
        columns = FLOOR_CONTACT_COLUMNS if level == "contacts" else FLOOR_ATTEMPT_COLUMNS
        query = sql.SQL("SELECT %s, {} FROM {} WHERE campaign_id = %s ORDER BY id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier("contacts" if level == "contacts" else "attempts"),
        )
        baseline = _status_kib("VmRSS")
        started = time.perf_counter()
        rows = 0
        with (
            out.open("w", encoding="utf-8-sig", newline="") as handle,
            connection.cursor(name="floor") as cursor,
        ):
            writer = csv.writer(handle)
            writer.writerow(("campaign", *columns))
            cursor.execute(query, (campaign, row[0]))
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
                rows += len(batch)
        return rows, time.perf_counter() - started, baseline


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process; see the module docstring."""
    out = Path(spec["out"])
    profile_text = None
    if spec["kind"] == "floor":
        floor = _floor_sqlite if spec["url"].startswith("sqlite") else _floor_postgres
        rows, seconds, baseline = floor(spec["url"], spec["campaign"], spec["level"], out)
    else:
        if spec["fmt"] == "xlsx":
            import openpyxl  # noqa: F401
        elif spec["fmt"] == "parquet":
            import pyarrow.parquet  # noqa: F401
        engine = make_engine(spec["url"])
        baseline = _status_kib("VmRSS")
        profiler = None
        if spec.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        result = export_campaign(
            engine, spec["campaign"], out, fmt=spec["fmt"], level=spec["level"]
        )
        seconds = time.perf_counter() - started
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text).strip_dirs()
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(30)
            profile_text = text.getvalue()
        rows = result.rows
        engine.dispose()
    size = out.stat().st_size
    out.unlink()
    return {
        "rows": rows,
        "seconds": seconds,
        "baseline_kib": baseline,
        "peak_kib": _status_kib("VmHWM"),
        "bytes": size,
        "profile": profile_text,
    }


@dataclass(frozen=True)
class Run:
    rows: int
    seconds: float
    baseline_mib: float
    peak_mib: float
    size_mib: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def run_child(spec: dict[str, Any]) -> tuple[Run, str | None]:
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"child {spec} failed:\n{completed.stderr}")
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    run = Run(
        data["rows"],
        data["seconds"],
        data["baseline_kib"] / 1024,
        data["peak_kib"] / 1024,
        data["bytes"] / 2**20,
    )
    return run, data["profile"]


# --- the parent ----------------------------------------------------------------------------


def _median_run(runs: list[Run]) -> Run:
    return Run(
        runs[0].rows,
        statistics.median(r.seconds for r in runs),
        statistics.median(r.baseline_mib for r in runs),
        statistics.median(r.peak_mib for r in runs),
        statistics.median(r.size_mib for r in runs),
    )


def _line(label: str, run: Run, ratio: float | None = None) -> str:
    text = (
        f"{label:<20} {run.rows:>10,} rows {run.seconds:8.2f} s {run.rate:>10,.0f} rows/s  "
        f"peak {run.peak_mib:6.0f} MiB  baseline {run.baseline_mib:5.0f} MiB  "
        f"+{run.peak_mib - run.baseline_mib:5.0f} MiB"
    )
    return text + (f"  ratio {ratio:5.2f}" if ratio is not None else "")


def print_query_plans(url: str) -> None:
    if not url.startswith("sqlite"):
        return
    connection = sqlite3.connect(make_url(url).database or "")
    try:
        for table in ("contacts", "attempts"):
            plan = connection.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE campaign_id = 1 ORDER BY id"
            ).fetchall()
            print(f"query plan ({table}): " + "; ".join(str(step[-1]) for step in plan))
    finally:
        connection.close()


def warm_cache(url: str) -> None:
    """Read the SQLite file once so that the first measurement is not the only cold one."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def bench(url: str, args: argparse.Namespace, work: Path) -> None:
    measures = [MEASURES[name] for name in args.only.split(",")]
    tenth = max(args.rows // 10, 1)
    present = seeded_rows(url) if url.startswith("sqlite") else {}
    if present == {CAMPAIGN: args.rows, TENTH: tenth}:
        print(f"reusing {make_url(url).database}")
    else:
        if present:
            raise SystemExit(f"{url} holds other campaigns: {present}")
        started = time.perf_counter()
        seed(url, {CAMPAIGN: args.rows, TENTH: tenth})
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    if url.startswith("sqlite"):
        size = Path(make_url(url).database or "").stat().st_size / 2**20
        print(f"SQLite file {size:,.0f} MiB")
    print_query_plans(url)
    warm_cache(url)

    def spec(kind: str, campaign: str, level: str, fmt: str = "csv") -> dict[str, Any]:
        out = work / f"out-{kind}-{level}.{fmt}"
        return {
            "kind": kind,
            "url": url,
            "campaign": campaign,
            "level": level,
            "fmt": fmt,
            "out": str(out),
        }

    floors: dict[str, list[Run]] = {"contacts": [], "attempts": []}
    exports: dict[str, list[Run]] = {m.name: [] for m in measures}
    ratios: dict[str, list[float]] = {m.name: [] for m in measures}
    small: list[Run] = []
    levels = sorted({m.level for m in measures})
    for repeat in range(1, args.repeat + 1):
        for level in levels:
            run, _ = run_child(spec("floor", CAMPAIGN, level))
            floors[level].append(run)
            print(_line(f"run {repeat} floor {level}", run), flush=True)
        for measure in measures:
            run, _ = run_child(spec("export", CAMPAIGN, measure.level, measure.fmt))
            exports[measure.name].append(run)
            ratio = run.seconds / floors[measure.level][-1].seconds
            ratios[measure.name].append(ratio)
            print(_line(f"run {repeat} {measure.name}", run, ratio), flush=True)
        if "csv contacts" in exports:
            run, _ = run_child(spec("export", TENTH, "contacts", "csv"))
            small.append(run)
            print(_line(f"run {repeat} csv N/10", run), flush=True)

    print(f"\nmedians of {args.repeat} run(s); ratio = export seconds / floor seconds (same level)")
    header = (
        f"{'measurement':<18} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} "
        f"{'base MiB':>9} {'peak-base':>9} {'out MiB':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    table: list[tuple[str, Run, float | None]] = [
        (f"floor {level}", _median_run(floors[level]), None) for level in levels
    ]
    table += [
        (m.name, _median_run(exports[m.name]), statistics.median(ratios[m.name])) for m in measures
    ]
    if small:
        table.append(("csv contacts N/10", _median_run(small), None))
    for label, run, median_ratio in table:
        grown = run.peak_mib - run.baseline_mib
        print(
            f"{label:<18} {run.rows:>10,} {run.seconds:>8.2f} {run.rate:>10,.0f} "
            f"{run.peak_mib:>9.0f} {run.baseline_mib:>9.0f} {grown:>9.0f} "
            f"{run.size_mib:>8.1f} {'' if median_ratio is None else f'{median_ratio:.2f}':>6}"
        )
    print()
    for measure in measures:
        run = _median_run(exports[measure.name])
        floor = _median_run(floors[measure.level])
        print(
            f"{measure.name}: {run.rows:,} rows in {run.seconds:.1f} s = {run.rate:,.0f} rows/s, "
            f"{statistics.median(ratios[measure.name]):.2f}x the floor ({floor.rate:,.0f} rows/s); "
            f"peak RSS {run.peak_mib:.0f} MiB = baseline {run.baseline_mib:.0f} + export "
            f"{run.peak_mib - run.baseline_mib:.0f} MiB"
        )
    if small:
        big, little = _median_run(exports["csv contacts"]), _median_run(small)
        print(
            f"memory bound (csv contacts): {little.rows:,} rows peak {little.peak_mib:.0f} MiB "
            f"(+{little.peak_mib - little.baseline_mib:.0f}), {big.rows:,} rows peak "
            f"{big.peak_mib:.0f} MiB (+{big.peak_mib - big.baseline_mib:.0f}): "
            f"{big.peak_mib - little.peak_mib:+.0f} MiB for {big.rows / little.rows:.0f}x the rows"
        )
    if args.profile:
        _, text = run_child({**spec("export", CAMPAIGN, "contacts"), "profile": True})
        print("\ncProfile of one csv contacts export (times inflated by the profiler):")
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL server URL: a throwaway database is made there")
    parser.add_argument(
        "--only", default="csv,xlsx,parquet,attempts", help="comma-separated: " + ",".join(MEASURES)
    )
    parser.add_argument("--keep", type=Path, help="SQLite: keep (and reuse) the database here")
    parser.add_argument("--profile", action="store_true", help="cProfile one csv contacts export")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:
        args.rows = 100_000
    unknown = set(args.only.split(",")) - set(MEASURES)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dialer-bench-")))
        if args.db:
            if not args.db.startswith(("postgresql", "postgres:")):
                parser.error("--db takes a PostgreSQL URL")
            url = stack.enter_context(fresh_database(args.db, "dialer_bench"))
        else:
            folder = args.keep or work
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / f'export-bench-{args.rows}.db'}"
        print(f"{args.rows:,} contacts, {url.split(':', 1)[0]}, {args.repeat} repeat(s)")
        bench(url, args, work)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
