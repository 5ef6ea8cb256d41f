"""The console in a real browser: Playwright drives Debian's Chromium (``bin/system-deps``)
through the whole story a marketing user has: sign in, create the campaigns, upload the messy
cp1251 demo CSV, check the preview against ``dialer load``, load, start against the built-in
simulator, watch the counts move, pause, resume, download the export and open it.

Screenshots of the key pages go to ``$DIALER_SCREENSHOTS`` (default: the test's tmp dir).
Without Chromium the test skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from dialer.accounts.roles import Role
from dialer.accounts.users import add_user
from dialer.campaign.config import load_config
from dialer.campaign.store import config_overlay, create_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.schema import ensure_schema
from dialer.embedded import embedded_stack
from dialer.loader.load import load_contacts
from dialer.sandbox import sandbox_campaign, sandbox_simulator_config
from dialer.settings import Settings
from dialer.states import FINAL_CONTACT_STATUSES
from dialer.web.server import WebThread
from tests.report.test_chromium import chromium

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
SPEED = 600.0
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """The embedded engine against the simulator, and the console beside it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'dialer.db'}")
    ensure_schema(engine)
    with session_scope(engine) as session:
        add_user(session, "marketing", Role.MANAGER, PASSWORD)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dialer.db'}",
        upload_dir=str(tmp_path / "uploads"),
        sandbox=True,
    )
    simulator = sandbox_simulator_config(SPEED, sender="74950000000")
    with (
        config_overlay(lambda c: sandbox_campaign(c, SPEED)),
        embedded_stack(settings, engine, simulator=simulator) as stack,
    ):
        web = WebThread(stack.settings, engine, "127.0.0.1", 0).start()
        try:
            yield web.url.rstrip("/"), engine
        finally:
            web.stop()


def shoot(page: Page, name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def cli_load_counts(tmp_path: Path, csv_path: Path) -> dict[str, int]:
    """What ``dialer load`` reports for the same file, on a database of its own."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    ensure_schema(engine)
    with session_scope(engine) as session:
        create_campaign(session, load_config(CAMPAIGNS / "leads-callback.toml"))
        create_campaign(session, load_config(CAMPAIGNS / "order-ready.toml"))
    summary = load_contacts(engine, "order-ready", csv_path, rejects_path=tmp_path / "r.csv")
    return {
        key: getattr(summary, key)
        for key in ("rows", "loaded", "rejected", "duplicates", "suppressed")
    }


def test_marketing_runs_a_campaign_in_the_browser(
    console: tuple[str, Engine], tmp_path: Path
) -> None:
    base, _engine = console
    shots = Path(os.environ.get("DIALER_SCREENSHOTS", tmp_path / "shots"))
    upload = tmp_path / "заказы.csv"
    shutil.copy(CAMPAIGNS / "order-ready.csv", upload)
    expected = cli_load_counts(tmp_path, upload)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1200, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(20_000)

        # Sign in (a wrong password first: one line, no session).
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login?next=%2F")
        page.get_by_label("Username").fill("marketing")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        shoot(page, "01-login", shots)
        page.get_by_label("Username").fill("marketing")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

        # Create: a broken file is one line inline; then the two real ones.
        page.goto(f"{base}/campaigns/new")
        page.get_by_label("Campaign file").fill('name = "x"\nchannel = "fax"\n')
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("alert")).to_contain_text("campaign file: ")
        for name in ("leads-callback", "order-ready"):
            page.goto(f"{base}/campaigns/new")
            text = (CAMPAIGNS / f"{name}.toml").read_text(encoding="utf-8")
            page.get_by_label("Campaign file").fill(text)
            page.get_by_role("button", name="Create").click()
            expect(page.get_by_role("heading", name=name)).to_be_visible()
        shoot(page, "02-campaign-new", shots)

        # Upload: the preview names the encoding and delimiter and counts as `dialer load`.
        page.get_by_label("Contacts file").set_input_files(str(upload))
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#encoding")).to_have_text("cp1251")
        expect(page.locator("#delimiter")).to_contain_text(";")
        expect(page.get_by_label("Phone column")).to_have_value("Телефон")
        for key, value in expected.items():
            expect(page.locator(f'[data-preview="{key}"]')).to_contain_text(str(value))
        assert page.locator("table.sample tbody tr").count() == 10
        expect(page.locator("table.sample")).to_contain_text("Здравствуйте, Иванов Иван!")
        shoot(page, "03-preview", shots)
        page.get_by_role("button", name="Load contacts").click()
        for key, value in expected.items():
            expect(page.locator(f'[data-summary="{key}"]')).to_have_text(str(value))
        with page.expect_download() as rejects:
            page.get_by_role("link", name="Download rejects").click()
        rejected_lines = rejects.value.path().read_text(encoding="utf-8-sig").splitlines()
        assert rejected_lines[0] == "line,value,reason,detail"
        assert len(rejected_lines) - 1 == expected["rejected"]
        shoot(page, "04-loaded", shots)

        # Start, watch the counts move without a reload, pause, resume.
        page.get_by_role("link", name="order-ready").first.click()
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#state")).to_have_text("running")
        before = page.evaluate("() => performance.getEntriesByType('navigation').length")
        expect(page.locator("#final")).not_to_have_text("0", timeout=30_000)
        assert page.locator("#live").get_attribute("data-updated")  # set by the event stream
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == before
        page.get_by_role("button", name="Pause").click()
        expect(page.locator("#state")).to_have_text("paused")
        expect(page.get_by_role("button", name="Resume")).to_be_visible()
        expect(page.get_by_role("button", name="Pause")).to_have_count(0)
        shoot(page, "05-paused", shots)
        page.get_by_role("button", name="Resume").click()
        expect(page.locator("#state")).to_have_text("completed", timeout=60_000)
        expect(page.locator("#final")).to_have_text(str(expected["loaded"]))
        shoot(page, "06-completed", shots)

        # The export opens: one row per contact that was loaded.
        with page.expect_download() as export:
            page.get_by_role("link", name="Export CSV").click()
        assert export.value.suggested_filename == "order-ready-contacts.csv"
        text = export.value.path().read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == expected["loaded"] + expected["suppressed"]
        assert {row["status"] for row in rows} <= FINAL_CONTACT_STATUSES
        with page.expect_download() as excel:
            page.get_by_role("link", name="Export Excel").click()
        assert excel.value.suggested_filename == "order-ready-contacts.xlsx"
        excel.value.save_as(tmp_path / "export.xlsx")
        workbook = openpyxl.load_workbook(tmp_path / "export.xlsx", read_only=True)
        sheet_rows = list(workbook.worksheets[0].iter_rows(values_only=True))
        assert len(sheet_rows) == len(rows) + 1  # the header, then one row per contact
        assert sheet_rows[0][:3] == ("campaign", "phone", "status")
        workbook.close()

        # The report and the DNC page.
        page.goto(f"{base}/api/v1/campaigns/order-ready/report")
        expect(page.get_by_role("heading", level=1)).to_contain_text("order-ready")
        page.goto(f"{base}/dnc")
        page.get_by_label("Numbers", exact=True).fill("+7 916 123-45-67")
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("status")).to_contain_text("Added to the list: 1")
        expect(page.locator("table")).to_contain_text("79161234567")
        shoot(page, "07-dnc", shots)

        # In Russian the visible words change; the accessible names stay.
        page.goto(f"{base}/lang/ru")
        page.goto(f"{base}/campaigns/order-ready")
        expect(page.get_by_role("button", name="Start")).to_have_text("Запустить")
        expect(page.get_by_role("link", name="Export Excel")).to_have_text("Экспорт Excel")
        shoot(page, "08-campaign-ru", shots)

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{base}/login")
        page.goto(f"{base}/campaigns/order-ready")
        expect(page.get_by_label("Username")).to_be_visible()
        browser.close()
