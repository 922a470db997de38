"""Time the console's CSV export of a big org and watch the web worker's memory.

python bench/export.py --targets targets.json --gunicorn PID [--repeats 3]

Signs in as the console org's admin (bench/prepare.py --console N), downloads
`/o/<slug>/users/export.csv` as a browser would (streamed, read in 64 KB pieces and
thrown away), and reports for each download the time to the first byte, the total time,
the rows and bytes, and the peak resident memory (VmHWM) of gunicorn's workers before
and after: an export that held the list in memory would raise the peak by the list's
size (about 1 KB a user in Python objects), a streamed one by a chunk's.
Then times the Users page itself at that size (bench/load.py's console scenario: its
searches, sorts and page sizes). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.load import console_pages


def workers_peak_mb(master: int) -> list[float]:
    """The peak resident memory (VmHWM) of each of gunicorn's workers, in MB."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    peaks = []
    for pid in out.split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return sorted(peaks)


def sign_in(site: str, console: dict[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=site, timeout=120, follow_redirects=False)
    client.get("/accounts/login/")
    r = client.post(
        "/accounts/login/",
        data={
            "username": console["username"],
            "password": console["password"],
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{site}/accounts/login/"},
    )
    if r.status_code != 302:
        raise SystemExit(f"console sign-in failed: {r.status_code}")
    return client


def export_once(client: httpx.Client, url: str) -> tuple[float, float, int, int]:
    """(seconds to the first byte, seconds in all, rows, bytes) of one download."""
    started = time.perf_counter()
    first = 0.0
    size = lines = 0
    with client.stream("GET", url) as r:
        if r.status_code != 200:
            raise SystemExit(f"export failed: {r.status_code}")
        for piece in r.iter_bytes(65536):
            if not first:
                first = time.perf_counter() - started
            size += len(piece)
            lines += piece.count(b"\n")
    return first, time.perf_counter() - started, lines - 1, size  # less the header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=Path, required=True)
    parser.add_argument("--gunicorn", type=int, required=True, help="gunicorn master's pid")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    targets = json.loads(args.targets.read_text())
    console = targets["console"]
    client = sign_in(targets["site"], console)
    url = f"/o/{console['slug']}/users/export.csv"
    client.get(f"/o/{console['slug']}/users/")  # the worker has loaded the console
    rows = []
    before = workers_peak_mb(args.gunicorn)
    rows.append(("workers' peak RSS before any export", ", ".join(f"{m:.0f} MB" for m in before)))
    for n in range(1, args.repeats + 1):
        first, total, count, size = export_once(client, url)
        peak = workers_peak_mb(args.gunicorn)
        rows.append(
            (
                f"export {n}: {count:,} users, {size / 1e6:.1f} MB of CSV",
                f"first byte {first * 1000:.0f} ms, all {total:.2f} s "
                f"({count / total:,.0f} users/s); workers' peak RSS "
                + ", ".join(f"{m:.0f} MB" for m in peak),
            )
        )
    print("| CSV export | measured |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    print(f"\n| Users page, {console['users']:,} users (20 requests each) | p50 | max |")
    print("|---|---|---|")
    for label, s in console_pages(targets["site"], console, 20).items():
        print(f"| {label} | {s.p50:.0f} ms | {s.pct(100):.0f} ms |")


if __name__ == "__main__":
    main()
