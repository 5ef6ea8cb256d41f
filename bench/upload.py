"""Upload memory: a large contacts file through ``POST /api/v1/campaigns/{name}/contacts``
must not grow the web process (uploads stream to disk; the loader reads in batches).

Run by hand: ``python bench/upload.py [--mb 200] [--row-bytes 2000] [--preview]``. It starts
``dialer web`` in a child process on a fresh SQLite database, creates a campaign and a token,
writes a CSV of about ``--mb`` MB (each row padded to ``--row-bytes`` with a note column, so
the number of distinct phones, which the loader keeps in a set, stays moderate), streams it
up as multipart (httpx reads the file in chunks), and prints the web process's resident
memory before (VmRSS) and its peak during the upload (VmHWM), in MiB, with the time taken.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CAMPAIGN = """\
name = "bench-upload"
channel = "tts"
[message]
text = "Здравствуйте, {name}!"
caller_id = "74950000000"
[schedule]
window = "09:00-21:00"
timezone = "Europe/Moscow"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_mib(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def write_csv(path: Path, megabytes: int, row_bytes: int) -> int:
    pad = "x" * max(row_bytes - 40, 0)
    rows = megabytes * 1024 * 1024 // row_bytes
    with path.open("w", encoding="utf-8") as out:
        out.write("name,phone,note\n")
        for i in range(rows):
            out.write(f"Имя {i},+7916{i % 10_000_000:07d},{pad}\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--row-bytes", type=int, default=2000)
    parser.add_argument("--preview", action="store_true", help="Count only (dry run).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {
            **os.environ,
            "DIALER_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "DIALER_UPLOAD_DIR": str(work / "uploads"),
            "DIALER_MAX_UPLOAD_BYTES": str((args.mb + 50) * 1024 * 1024),
        }
        dialer = [sys.executable, "-m", "dialer"]
        subprocess.run([*dialer, "db", "upgrade"], env=env, check=True, capture_output=True)
        token = (
            subprocess.run(
                [*dialer, "token", "create", "bench", "--role", "manager"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        csv_path = work / "big.csv"
        rows = write_csv(csv_path, args.mb, args.row_bytes)
        port = free_port()
        server = subprocess.Popen(
            [*dialer, "web", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                for _ in range(100):
                    try:
                        client.get("/campaigns").raise_for_status()
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                client.post(
                    "/campaigns", content=CAMPAIGN, headers={"Content-Type": "application/toml"}
                ).raise_for_status()
                before = memory_mib(server.pid)
                started = time.perf_counter()
                with csv_path.open("rb") as handle:
                    answer = client.post(
                        "/campaigns/bench-upload/contacts",
                        params={"preview": "true"} if args.preview else None,
                        files={"file": ("big.csv", handle, "text/csv")},
                    )
                elapsed = time.perf_counter() - started
                answer.raise_for_status()
                after = memory_mib(server.pid)
            summary = answer.json()
            size = csv_path.stat().st_size / 1024 / 1024
            print(
                f"{size:.0f} MB, {rows} rows ({'preview' if args.preview else 'load'}): "
                f"loaded {summary['loaded']}, duplicates {summary['duplicates']} in "
                f"{elapsed:.1f} s; web RSS before {before['VmRSS']:.0f} MiB, peak "
                f"{after['VmHWM']:.0f} MiB (+{after['VmHWM'] - before['VmRSS']:.0f} MiB)"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
