"""Contact loader throughput: ``load_contacts`` against a bare CSV-to-table floor.

Run by hand from the repository root::

    python bench/loader.py [--rows 200000] [--repeat 3] [--postgres] [--pg-admin-url URL]

A messy Excel-style file is generated once into a temp dir: cp1251, ``;``, header
``ФИО;Телефон;Номер заказа;Город``, numbers in a dozen formats (brackets, dashes, NBSP, 8/7/+7
or no prefix), some landlines, about 2% rejects (empty, words, Excel's ``7,91612E+10``, too
short, an empty order number), about 3% duplicates in another format, and quoted fields holding
``;``, ``"`` or a line break. Each repeat then measures, every time in a fresh database:

- SQLite floor: ``csv.reader`` (cp1251, ``;``) + ``sqlite3.executemany`` of the raw rows into a
  plain 4-column table, one transaction, a new WAL file (``synchronous=NORMAL``, as the
  loader's engine sets it);
- SQLite load: a new file, migrated, a tts campaign whose text uses ``{ФИО}`` and
  ``{Номер заказа}``; only ``load_contacts`` is timed;
- with ``--postgres``: the floor is psycopg 3 ``COPY ... FROM STDIN`` of the raw rows
  (``csv.reader`` + ``copy.write_row``) into a plain table, against ``load_contacts`` on a new
  migrated database.

Printed: rows/s of each, the ratio load time / floor time per repeat and the medians (the
goal on SQLite is at most 3), the process's peak RSS (``ru_maxrss``, MiB) and the Python heap
peak of one load under ``tracemalloc`` (a separate, untimed run).
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine

from dialer.campaign.config import parse_config
from dialer.campaign.store import create_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.migrate import upgrade
from dialer.loader.load import LoadSummary, load_contacts

# The throwaway-database helper is shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.services import fresh_database

HEADER = ("ФИО", "Телефон", "Номер заказа", "Город")
CAMPAIGN = "bench"
CAMPAIGN_TOML = """
name = "bench"
channel = "tts"
[message]
text = "Здравствуйте, {ФИО}! Ваш заказ {Номер заказа} готов к выдаче."
caller_id = "74950000000"
"""
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

SURNAMES = ("Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Соколов", "Лебедев")
FIRST_NAMES = ("Иван", "Пётр", "Анна", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена")
PATRONYMICS = ("Иванович", "Петровна", "Сергеевич", "Андреевна", "Олегович", "Юрьевна")
CITIES = ("Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Самара")
LANDLINE_CODES = ("495", "499", "812", "343", "383", "846", "391", "423")

# Ways the same national number (10 digits, "9161234567") is typed into a spreadsheet.
FORMATS: tuple[Callable[[str], str], ...] = (
    lambda n: f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
    lambda n: f"8{n}",
    lambda n: f"7-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"8\u00a0{n[:3]}\u00a0{n[3:6]}\u00a0{n[6:8]}\u00a0{n[8:]}",
    lambda n: n,
    lambda n: f"+7{n}",
    lambda n: f"8({n[:3]}){n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"7{n}",
    lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:]}",
    lambda n: f" 8 ({n[:3]}) {n[3:6]}\u2013{n[6:8]}\u2013{n[8:]} ",
    lambda n: f"+7({n[:3]}){n[3:]}",
)
REJECTS: tuple[str, ...] = (
    "",
    "позвоните мне",
    "нет",
    "7,91612E+10",
    "8,91612E+10",
    "8 916 12",
    "12345",
)


def generate(path: Path, rows: int, seed: int = 2024) -> None:
    """Write ``rows`` data rows (plus the header) to ``path`` as cp1251 ``;`` CSV."""
    rng = random.Random(seed)
    used: set[str] = set()
    given: list[str] = []
    with path.open("w", encoding="cp1251", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(rows):
            name = f"{rng.choice(SURNAMES)} {rng.choice(FIRST_NAMES)} {rng.choice(PATRONYMICS)}"
            city = rng.choice(CITIES)
            order = f"З-{index + 100000}"
            roll = rng.random()
            if roll < 0.02:
                phone = rng.choice(REJECTS)
                if phone == "12345":  # stands for "an order number left empty"
                    phone, order = _fresh_number(rng, used, given), ""
            elif roll < 0.05 and given:
                phone = rng.choice(FORMATS)(rng.choice(given))
            else:
                phone = rng.choice(FORMATS)(_fresh_number(rng, used, given))
            extra = rng.random()
            if extra < 0.01:
                name = f"{name}; доверенное лицо"
            elif extra < 0.015:
                name = f'ООО "Ромашка", {name}'
            elif extra < 0.017:
                city = f"{city}\r\nул. Ленина, 1; кв. 2"
            writer.writerow((name, phone, order, city))


def _fresh_number(rng: random.Random, used: set[str], given: list[str]) -> str:
    while True:
        if rng.random() < 0.05:
            national = f"{rng.choice(LANDLINE_CODES)}{rng.randrange(10**7):07d}"
        else:
            national = f"9{rng.randrange(10**9):09d}"
        if national not in used:
            used.add(national)
            given.append(national)
            return national


def floor_sqlite(csv_path: Path, db_path: Path) -> float:
    """Seconds to read the CSV and insert the raw rows into a plain SQLite table."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE raw (a TEXT, b TEXT, c TEXT, d TEXT)")
        started = time.perf_counter()
        with csv_path.open(encoding="cp1251", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            next(reader)
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)", reader)
            connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def floor_postgres(csv_path: Path, url: str) -> float:
    """Seconds to read the CSV and COPY the raw rows into a plain PostgreSQL table."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as connection:
        connection.execute("CREATE TABLE raw (a text, b text, c text, d text)")
        connection.commit()
        started = time.perf_counter()
        with (
            csv_path.open(encoding="cp1251", newline="") as handle,
            connection.cursor() as cursor,
            cursor.copy("COPY raw (a, b, c, d) FROM STDIN") as copy,
        ):
            reader = csv.reader(handle, delimiter=";")
            next(reader)
            for row in reader:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def prepared_engine(url: str) -> Engine:
    """A migrated database with the bench campaign."""
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        create_campaign(session, parse_config(CAMPAIGN_TOML))
    return engine


def timed_load(
    url: str, csv_path: Path, rejects: Path, *, trace: bool = False
) -> tuple[float, LoadSummary]:
    """Seconds ``load_contacts`` takes (setting up the database is not timed). ``trace``
    runs it under ``tracemalloc``, which the caller reads and stops."""
    engine = prepared_engine(url)
    try:
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        summary = load_contacts(engine, CAMPAIGN, csv_path, rejects_path=rejects)
        return time.perf_counter() - started, summary
    finally:
        engine.dispose()
        rejects.unlink(missing_ok=True)


@dataclass
class Series:
    label: str
    rows: int
    floors: list[float]
    loads: list[float]

    def report(self) -> None:
        ratios = [load / floor for load, floor in zip(self.loads, self.floors, strict=True)]
        for number, (floor, load, ratio) in enumerate(
            zip(self.floors, self.loads, ratios, strict=True), start=1
        ):
            print(
                f"{self.label} run {number}: floor {self.rows / floor:>9,.0f} rows/s  "
                f"load {self.rows / load:>9,.0f} rows/s  ratio {ratio:.2f}"
            )
        floor, load = statistics.median(self.floors), statistics.median(self.loads)
        print(
            f"{self.label} median: floor {self.rows / floor:>9,.0f} rows/s  "
            f"load {self.rows / load:>9,.0f} rows/s  ratio {statistics.median(ratios):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dialer-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "contacts.csv"
        generate(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 2**20:.1f} MiB cp1251")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rejects = work / "rejects.csv"
        sqlite = Series("sqlite", args.rows, [], [])
        postgres = Series("postgres", args.rows, [], [])
        summary: LoadSummary | None = None
        for run in range(args.repeat):
            sqlite.floors.append(floor_sqlite(csv_path, work / f"floor-{run}.db"))
            seconds, summary = timed_load(f"sqlite:///{work / f'load-{run}.db'}", csv_path, rejects)
            sqlite.loads.append(seconds)
            if args.postgres:
                with fresh_database(args.pg_admin_url, "dialer_bench") as url:
                    postgres.floors.append(floor_postgres(csv_path, url))
                with fresh_database(args.pg_admin_url, "dialer_bench") as url:
                    postgres.loads.append(timed_load(url, csv_path, rejects)[0])
        assert summary is not None
        print(
            f"load: {summary.loaded:,} loaded, {summary.rejected:,} rejected, "
            f"{summary.duplicates:,} duplicates, {summary.suppressed:,} suppressed"
        )
        sqlite.report()
        if args.postgres:
            postgres.report()
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        timed_load(f"sqlite:///{work / 'traced.db'}", csv_path, rejects, trace=True)
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"peak RSS: {rss_before:.0f} MiB after generating the file, {peak_rss:.0f} MiB "
            f"after all runs; Python heap peak of one SQLite load {heap_peak:.1f} MiB"
        )


if __name__ == "__main__":
    main()
