"""Command Center against the stock django-scim2 peer (bench/peer/), side by side.

The same Okta-style sync (a filtered GET and a POST per user, 8 clients) against each
server in turn, the runs interleaved A B B A A B … so drift of the machine falls on both,
with the CPU each run used by process tree (web, Postgres, Redis, load client). Both
servers run while the other is measured but idle. Prints a Markdown table with the ratio
of the medians and of each pair of runs; exits non-zero when a run had an error.

    python bench/versus.py --ours URL,TOKEN --peer URL,TOKEN \
        --ours-pids gunicorn=PID,postgres=PID,redis=PID --peer-pids gunicorn=PID,postgres=PID
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import Stats, Target, cpu_per_item, cpu_seconds, okta_sync


@dataclass
class Run:
    rate: float
    per_user: Stats
    cpu: dict[str, float]


def one_run(t: Target, roots: dict[str, int], users: int, run_id: str) -> Run:
    before = cpu_seconds(roots)
    per_user, _ = okta_sync(t, users, 8, run_id)
    cpu = cpu_per_item(before, cpu_seconds(roots), users)
    return Run(users / per_user.wall, per_user, cpu)


def pids(spec: str) -> dict[str, int]:
    return {k: int(v) for k, v in (p.split("=") for p in spec.split(",") if p)}


def target(spec: str) -> Target:
    url, token = spec.split(",", 1)
    return Target(url, token)


def summary(runs: list[Run]) -> tuple[str, str]:
    rates = [r.rate for r in runs]
    mid = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    p99 = max(r.per_user.pct(99) for r in runs)
    errors = sum(r.per_user.errors for r in runs)
    rate = (
        f"{statistics.median(rates):,.0f} users/s (runs {', '.join(f'{x:,.0f}' for x in rates)}); "
        f"p99 ≤ {p99:.1f} ms per user; {errors} errors"
    )
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in mid.cpu.items())
    return rate, f"{cpu}: {sum(mid.cpu.values()):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ours", required=True, help="Base URL,token of Command Center")
    parser.add_argument("--peer", required=True, help="Base URL,token of the stock peer")
    parser.add_argument("--ours-pids", default="")
    parser.add_argument("--peer-pids", default="")
    parser.add_argument("--users", type=int, default=3000, help="users per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side")
    parser.add_argument("--label", default="", help="appended to the rows' names")
    parser.add_argument(
        "--titles",
        default="Command Center,stock django-scim2",
        help="the two sides' names (bench/ab.sh: the change and its base)",
    )
    parser.add_argument("--out", type=Path, help="append the table to this file")
    parser.add_argument("--target", default="≥ ×1.5", help="the ratio's target cell")
    args = parser.parse_args()
    sides = {
        "ours": (target(args.ours), pids(args.ours_pids)),
        "peer": (target(args.peer), pids(args.peer_pids)),
    }
    # A warm-up of each side first: the workers' first requests import and connect.
    for name, (t, roots) in sides.items():
        one_run(t, roots, max(100, args.users // 20), f"w{name}{int(time.time())}")
    runs: dict[str, list[Run]] = {"ours": [], "peer": []}
    order = ["ours", "peer"]
    for n in range(args.runs):
        for name in order if n % 2 == 0 else order[::-1]:
            t, roots = sides[name]
            runs[name].append(one_run(t, roots, args.users, f"v{n}{name}{int(time.time())}"))
    ours = statistics.median(r.rate for r in runs["ours"])
    peer = statistics.median(r.rate for r in runs["peer"])
    pairs = ", ".join(
        f"{a.rate / b.rate:.2f}" for a, b in zip(runs["ours"], runs["peer"], strict=True)
    )
    label = f" ({args.label})" if args.label else ""
    rows = []
    titles = args.titles.split(",")
    for name, title in zip(("ours", "peer"), titles, strict=True):
        rate, cpu = summary(runs[name])
        sync = f"0. Okta sync, {args.users:,} users × {args.runs}"
        rows.append(f"| {sync}: {title}{label} | {rate} | |")
        rows.append(f"| 0. … CPU per user, median run, ms: {title}{label} | {cpu} | |")
    rows.append(
        f"| 0. Ratio, {titles[0]} ÷ {titles[1]}{label} | ×{ours / peer:.2f} "
        f"(each pair: {pairs}) | {args.target} |"
    )
    table = "\n".join(rows)
    print(table)
    if args.out:
        with args.out.open("a") as out:
            out.write(table + "\n")
    if any(r.per_user.errors for rs in runs.values() for r in rs):
        sys.exit(1)


if __name__ == "__main__":
    main()
