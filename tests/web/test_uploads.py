"""Stored uploads: old files are swept, a raw upload keeps the name it is given, and the
preview's sample says which rows are duplicates."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dialer.web.uploads import remove_old
from tests.web.test_api import API
from tests.web.world import World


def test_old_uploads_and_exports_are_removed(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    old = [tmp_path / "a.csv", tmp_path / "a.json", tmp_path / "exports" / "b.xlsx"]
    new = [tmp_path / "c.csv", tmp_path / "exports" / "d.csv"]
    for path in old + new:
        path.write_text("x")
    week_ago = time.time() - 8 * 24 * 3600
    for path in old:
        os.utime(path, (week_ago, week_ago))

    assert remove_old(tmp_path, time.time() - 7 * 24 * 3600) == 3
    assert [p.exists() for p in old + new] == [False, False, False, True, True]
    assert remove_old(tmp_path / "missing", time.time()) == 0


def test_a_raw_upload_keeps_its_name_and_the_sample_marks_duplicates(world: World) -> None:
    world.create()
    csv = "name,phone,contract,due\nAnna,89161234567,D-1,01.12\nAnna,+7 916 123-45-67,D-1,01.12\n"
    answer = world.call(
        "POST",
        f"{API}/campaigns/payment-reminder/contacts",
        params={"preview": "true", "filename": "../../клиенты.csv"},
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["file"] == "клиенты.csv"
    assert (body["loaded"], body["duplicates"]) == (1, 1)
    assert [row["reason"] for row in body["sample"]] == [None, "duplicate"]
    assert body["sample"][1]["phone"] == "79161234567"
