"""The SCIM load generator: IdP-shaped scenarios against a running Command Center.

    python bench/load.py --targets targets.json [--quick] [--out results.md]

targets.json (written by bench/prepare.py) names each org's Base URL and token.
Every scenario is bounded in requests and time, and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_local = threading.local()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    errors: int = 0
    wall: float = 0.0
    items: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if not ok:
                self.errors += 1

    def pct(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


@dataclass
class Response:
    status_code: int  # 0 when the connection failed
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class Target:
    """One org's Base URL and token. Each thread keeps one keep-alive connection per
    target, on the standard library's HTTP client: it costs the shared cores about a
    third of the CPU per request that httpx did, leaving more of them to the server."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        url = urlsplit(base_url)
        self.host, self.port, self.prefix = url.hostname or "127.0.0.1", url.port, url.path
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "User-Agent": "Okta SCIM Client 1.0.0",
        }

    def connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        key = f"conn-{self.base_url}"
        conn: http.client.HTTPConnection | None = getattr(_local, key, None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            setattr(_local, key, conn)
        return conn

    def send(self, method: str, path: str, body: bytes | None) -> Response:
        url = self.prefix + quote(path, safe="/?&=@:%+")
        for attempt in (1, 2):
            conn = self.connection(fresh=attempt == 2)
            try:
                conn.request(method, url, body=body, headers=self.headers)
                r = conn.getresponse()
                return Response(r.status, r.read())
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: retry once on a new one.
                if attempt == 2:
                    conn.close()
        return Response(0, b"")

    def call(
        self, stats: Stats, method: str, path: str, body: Any = None, expect: Iterable[int] = (200,)
    ) -> Response:
        started = time.perf_counter()
        response = self.send(method, path, None if body is None else json.dumps(body).encode())
        stats.record(time.perf_counter() - started, response.status_code in expect)
        return response


def run(tasks: list[Callable[[], None]], concurrency: int, stats: Stats) -> Stats:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(t) for t in tasks]:
            future.result()
    stats.wall = time.perf_counter() - started
    return stats


def user_body(name: str) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Bench", "familyName": name.split("@")[0]},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"Bench {name}",
        "externalId": name,
        "password": "not-stored-1!",
        "active": True,
    }


# Scenario 1: an Okta initial sync -------------------------------------------------------


def okta_sync(t: Target, users: int, concurrency: int, run_id: str) -> tuple[Stats, list[str]]:
    stats, per_user = Stats(), Stats()
    ids: list[str] = []

    def one(n: int) -> None:
        name = f"sync{run_id}-{n}@bench.example"
        started = time.perf_counter()
        t.call(stats, "GET", f'/Users?filter=userName eq "{name}"&startIndex=1&count=100')
        r = t.call(stats, "POST", "/Users", user_body(name), expect=(201,))
        per_user.record(time.perf_counter() - started, r.status_code == 201)
        if r.status_code == 201:
            with stats.lock:
                ids.append(r.json()["id"])

    run([lambda n=n: one(n) for n in range(users)], concurrency, stats)
    per_user.wall, per_user.items = stats.wall, users
    return per_user, ids


def group_pushes(
    t: Target, ids: list[str], groups: int, members: int, batch: int, run_id: str
) -> Stats:
    stats = Stats()
    group_ids = []
    for g in range(groups):
        r = t.call(
            stats, "POST", "/Groups", {"displayName": f"G{run_id}-{g}", "members": []}, (201,)
        )
        group_ids.append(r.json()["id"])
    tasks = []
    for gid in group_ids:
        chosen = random.sample(ids, min(members, len(ids)))
        for i in range(0, len(chosen), batch):
            chunk = chosen[i : i + batch]
            body = {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": u} for u in chunk]}
                ],
            }
            tasks.append(
                lambda gid=gid, body=body: t.call(
                    stats, "PATCH", f"/Groups/{gid}?excludedAttributes=members", body
                )
            )
    return run(tasks, 4, stats)


def random_lookups(t: Target, names: list[str], n: int, concurrency: int) -> Stats:
    stats = Stats()
    picks = [random.choice(names) for _ in range(n)]
    return run(
        [lambda p=p: t.call(stats, "GET", f'/Users?filter=userName eq "{p}"') for p in picks],
        concurrency,
        stats,
    )


def deactivate(t: Target, ids: list[str], share: float, concurrency: int) -> Stats:
    stats = Stats()
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    chosen = random.sample(ids, int(len(ids) * share))
    return run(
        [lambda u=u: t.call(stats, "PATCH", f"/Users/{u}", body) for u in chosen],
        concurrency,
        stats,
    )


# Where the CPU goes, and the floor of the stack ---------------------------------------------


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process tree: its root, the
    root's live descendants, and the children they have reaped (Postgres's finished
    backends). The load client's own share is "load client". Linux only (/proc)."""
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    out: dict[str, float] = {}
    for name, root in roots.items():
        total = 0.0
        for pid, seconds in used.items():
            p = pid
            while p > 1 and p != root:
                p = parent.get(p, 0)
            if p == root:
                total += seconds
        out[name] = total
    me = os.times()
    out["load client"] = me.user + me.system
    return out


def cpu_per_item(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, float]:
    """Milliseconds of CPU per item, by process tree."""
    return {k: (after[k] - before[k]) * 1000 / items for k in before}


def cpu_line(ms: dict[str, float], unit: str) -> str:
    total = sum(ms.values())
    parts = ", ".join(f"{k} {v:.2f}" for k, v in ms.items())
    ceiling = (os.cpu_count() or 1) * 1000 / total if total else 0.0
    return f"{parts}: {total:.2f} ms per {unit}; {os.cpu_count()} cores allow ≈ {ceiling:,.0f}/s"


def stack_floor(
    t: Target, n: int, roots: dict[str, int]
) -> dict[str, tuple[Stats, dict[str, float]]]:
    """The cheapest SCIM requests at concurrency 8: what any request costs the shared cores
    before it does any work (token check, routing, HTTP, JSON), to set scenario 1 against."""
    out: dict[str, tuple[Stats, dict[str, float]]] = {}
    paths = {
        "GET /ServiceProviderConfig": "/ServiceProviderConfig",
        "userName lookup finding nobody": '/Users?filter=userName eq "nobody@bench.example"',
    }
    for label, path in paths.items():
        stats = Stats()
        before = cpu_seconds(roots)
        tasks = [lambda s=stats, p=path: t.call(s, "GET", p) for _ in range(n)]
        run(tasks, 8, stats)
        out[label] = (stats, cpu_per_item(before, cpu_seconds(roots), n))
    return out


# Scenario 2: lookups in a small and a huge org ----------------------------------------------


def lookup_p50(t: Target, prefix: str, population: int, n: int) -> Stats:
    stats = Stats()
    for _ in range(n):
        name = f"{prefix}{random.randrange(population)}@bench.example"
        t.call(stats, "GET", f'/Users?filter=userName eq "{name}"')
    return stats


# Scenario 3: large groups -----------------------------------------------------------------


def large_groups(
    t: Target, big_group: str, member_pool: list[str], repeats: int
) -> dict[str, Stats]:
    out: dict[str, Stats] = {}
    add = Stats()
    for r in range(repeats):
        gid = t.call(
            Stats(), "POST", "/Groups", {"displayName": f"add1000-{time.time()}-{r}"}, (201,)
        ).json()["id"]
        body = {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": u} for u in member_pool[:1000]],
                }
            ],
        }
        t.call(add, "PATCH", f"/Groups/{gid}?excludedAttributes=members", body)
    out["PATCH add 1,000 members"] = add
    remove = Stats()
    for u in member_pool[:repeats]:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": f'members[value eq "{u}"]'}],
        }
        t.call(remove, "PATCH", f"/Groups/{big_group}?excludedAttributes=members", body)
    out["PATCH remove 1 member of the big group"] = remove
    get = Stats()
    for _ in range(repeats * 3):
        t.call(get, "GET", f"/Groups/{big_group}?excludedAttributes=members")
    out["GET big group, excludedAttributes=members"] = get
    replace = Stats()
    for r in range(max(1, repeats // 3)):
        gid = t.call(
            Stats(), "POST", "/Groups", {"displayName": f"rep10k-{time.time()}-{r}"}, (201,)
        ).json()["id"]
        body = {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "replace",
                    "path": "members",
                    "value": [{"value": u} for u in member_pool[:10000]],
                }
            ],
        }
        t.call(replace, "PATCH", f"/Groups/{gid}?excludedAttributes=members", body)
    out["PATCH replace members with 10,000"] = replace
    return out


# Scenario 4: many tenants at once -----------------------------------------------------------


def many_tenants(targets: list[Target], rate: float, seconds: float) -> Stats:
    stats = Stats()
    deadline = time.perf_counter() + seconds

    def tenant(t: Target, k: int) -> None:
        n = 0
        next_at = time.perf_counter()
        while time.perf_counter() < deadline:
            name = f"tenant{k}-{n}-{time.time_ns()}@bench.example"
            if n % 2 == 0:
                t.call(stats, "GET", f'/Users?filter=userName eq "{name}"')
            else:
                t.call(stats, "POST", "/Users", user_body(name), (201,))
            n += 1
            next_at += 1 / rate
            time.sleep(max(0.0, next_at - time.perf_counter()))
        with stats.lock:
            stats.items += n

    run([lambda t=t, k=k: tenant(t, k) for k, t in enumerate(targets)], len(targets), stats)
    return stats


# Scenario 6: the console's Users page in a big org -----------------------------------------


def console_pages(site: str, console: dict[str, Any], repeats: int) -> dict[str, Stats]:
    """Sign in as the org's admin, then time the Users page and its searches."""
    client = httpx.Client(base_url=site, timeout=30, follow_redirects=False)
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
    users = f"/o/{console['slug']}/users/"
    pages = {
        "first page": "",
        "page 500": "?page=500",
        "search by userName prefix": f"?q={console['slug']}-0-4711",
        "search by family name": "?q=4711",
        "search by part of a userName": "?q=-0-4711@",
        "search matching nobody": "?q=nobody-is-called-this",
        "search matching everyone (the email domain)": "?q=bench.example",
        "disabled users, filtered": "?status=disabled",
        "sorted by userName, last page": "?sort=user&page=last",
        "500 a page": "?per_page=500",
    }
    out: dict[str, Stats] = {}
    for label, query in pages.items():
        stats = Stats()
        for _ in range(repeats):
            started = time.perf_counter()
            r = client.get(users + query)
            stats.record(time.perf_counter() - started, r.status_code == 200)
        out[label] = stats
    return out


def worker_rss_mb(pattern: str = "gunicorn") -> list[float]:
    """The resident memory of each web worker (gunicorn's master left out), in MB."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,rss,args"], capture_output=True, text=True).stdout
    procs = [
        line.split(None, 3)
        for line in out.splitlines()[1:]
        if pattern in line and "commandcenter.wsgi" in line
    ]
    parents = {ppid for _, ppid, _, _ in procs}
    return sorted(int(rss) / 1024 for pid, _, rss, _ in procs if pid not in parents)


def sync_rows(
    main_t: Target, q: bool, roots: dict[str, int], rows: list[tuple[str, str, str]]
) -> tuple[list[str], str]:
    """Scenario 1 (and 1e, 5): the Okta sync, its CPU per user and the workers' memory.
    Returns the ids and the run id of its first run, which the next scenarios reuse."""
    users = 300 if q else 10_000
    # Scenario 1 three times back to back (the median is reported), with the web
    # workers' memory after each run: scenario 5 asks for no growth across them.
    runs: list[tuple[float, Stats, dict[str, float]]] = []
    rss_after: list[list[float]] = []
    for n in range(2 if q else 3):
        run_id = f"{int(time.time())}r{n}"
        before = cpu_seconds(roots)
        per_user, run_ids = okta_sync(main_t, users, 8, run_id)
        cpu = cpu_per_item(before, cpu_seconds(roots), users)
        runs.append((users / per_user.wall, per_user, cpu))
        rss_after.append(worker_rss_mb())
        if n == 0:
            first_run_id, ids = run_id, run_ids
    rate, per_user, cpu = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    rows.append(
        (
            f"1. Okta sync, {users:,} users, concurrency 8 (median of {len(runs)} runs)",
            f"{rate:,.0f} users/s; p50 {per_user.p50:.1f} ms, "
            f"p99 {per_user.pct(99):.1f} ms per user; {per_user.errors} errors "
            f"(runs: {', '.join(f'{r:,.0f}' for r, _, _ in runs)} users/s)",
            "≥ 500 users/s, p99 < 60 ms, 0 errors",
        )
    )
    if roots:
        label = "1e. CPU per user of the median sync run (GET + POST), ms by process"
        rows.append((label, cpu_line(cpu, "user"), ""))
    rows.append(
        (
            "5. Web worker RSS after each sync run",
            " → ".join(f"{sum(r) / max(1, len(r)):.0f}" for r in rss_after)
            + f" MB (mean of {len(rss_after[-1])} workers; "
            f"largest {max(rss_after[-1], default=0):.0f} MB)",
            "≤ 250 MB, no growth",
        )
    )
    return ids, first_run_id


def floor_rows(
    main_t: Target, q: bool, roots: dict[str, int], rows: list[tuple[str, str, str]]
) -> None:
    """Scenario 1f: the cheapest requests, with their CPU by process."""
    if roots:
        for label, (st, ms) in stack_floor(main_t, 300 if q else 5000, roots).items():
            rows.append(
                (
                    f"1f. Floor of the stack: {label}, concurrency 8 ({len(st.latencies):,})",
                    f"{len(st.latencies) / st.wall:,.0f} requests/s, p50 {st.p50:.1f} ms, "
                    f"{st.errors} errors; CPU ms: {cpu_line(ms, 'request')}",
                    "",
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", required=True, type=Path)
    parser.add_argument("--quick", action="store_true", help="a small smoke run (CI)")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--pids",
        default="",
        help="gunicorn=PID,postgres=PID,redis=PID: the process trees whose CPU to report",
    )
    parser.add_argument(
        "--sync-only",
        metavar="LABEL",
        help="run only scenario 1 and the floor of the stack, their rows marked LABEL, "
        "and append them to --out (bench/run.sh: the same run with the provisioning log off)",
    )
    args = parser.parse_args()
    roots = {k: int(v) for k, v in (p.split("=") for p in args.pids.split(",") if p)}
    targets = json.loads(args.targets.read_text())
    q = args.quick
    rows: list[tuple[str, str, str]] = []

    main_t = Target(**targets["sync"])
    ids, first_run_id = sync_rows(main_t, q, roots, rows)
    if args.sync_only:
        floor_rows(main_t, q, roots, rows)
        table = "\n".join(f"| {a} ({args.sync_only}) | {b} | {c} |" for a, b, c in rows)
        print(table)
        if args.out:
            with args.out.open("a") as out:
                out.write(table + "\n")
        return

    run_id = first_run_id
    users = 300 if q else 10_000
    g = group_pushes(main_t, ids, 2 if q else 20, 50 if q else 500, 100, run_id)
    rows.append(
        (
            f"1b. Group pushes ({len(g.latencies)} requests)",
            f"p50 {g.p50:.1f} ms, p99 {g.pct(99):.1f} ms, {g.errors} errors",
            "",
        )
    )
    names = [f"sync{run_id}-{n}@bench.example" for n in range(users)]
    lk = random_lookups(main_t, names, 200 if q else 5000, 8)
    rows.append(
        (
            f"1c. Random filtered lookups ({len(lk.latencies)})",
            f"{len(lk.latencies) / lk.wall:,.0f}/s, p50 {lk.p50:.1f} ms, "
            f"p99 {lk.pct(99):.1f} ms, {lk.errors} errors",
            "",
        )
    )
    de = deactivate(main_t, ids, 0.1, 8)
    rows.append(
        (
            f"1d. Deactivate 10% by PATCH ({len(de.latencies)})",
            f"p50 {de.p50:.1f} ms, p99 {de.pct(99):.1f} ms, {de.errors} errors",
            "",
        )
    )

    floor_rows(main_t, q, roots, rows)

    if "small" in targets and "huge" in targets:
        small = lookup_p50(
            Target(**targets["small"]["target"]),
            targets["small"]["prefix"],
            targets["small"]["users"],
            300,
        )
        huge = lookup_p50(
            Target(**targets["huge"]["target"]),
            targets["huge"]["prefix"],
            targets["huge"]["users"],
            300,
        )
        rows.append(
            (
                f"2. userName lookup p50, {targets['small']['users']:,} vs "
                f"{targets['huge']['users']:,} users",
                f"{small.p50:.2f} ms vs {huge.p50:.2f} ms (×{huge.p50 / small.p50:.2f})",
                "≤ 1.3×",
            )
        )
    if "huge" in targets and targets["huge"].get("big_group"):
        pool = targets["huge"]["member_pool"]
        for label, s in large_groups(
            Target(**targets["huge"]["target"]), targets["huge"]["big_group"], pool, 3 if q else 10
        ).items():
            rows.append(
                (
                    f"3. {label}",
                    f"p50 {s.p50:.1f} ms ({len(s.latencies)} runs, {s.errors} errors)",
                    "",
                )
            )

    tenants = [Target(**t) for t in targets.get("tenants", [])]
    if tenants:
        mt = many_tenants(tenants, 25, 5 if q else 20)
        rows.append(
            (
                f"4. {len(tenants)} orgs at 25 req/s each",
                f"{len(mt.latencies) / mt.wall:,.0f} req/s sustained, "
                f"p99 {mt.pct(99):.1f} ms, {mt.errors} errors",
                "all sustained, p99 < 250 ms",
            )
        )
    if "console" in targets:
        console = targets["console"]
        for label, s in console_pages(targets["site"], console, 5 if q else 20).items():
            rows.append(
                (
                    f"6. Users page, {console['users']:,} users: {label}",
                    f"p50 {s.p50:.0f} ms, max {s.pct(100):.0f} ms, {s.errors} errors",
                    "≤ 300 ms",
                )
            )
    rss = worker_rss_mb()
    rows.append(
        ("5. Web worker RSS after the run", ", ".join(f"{r:.0f} MB" for r in rss), "≤ 250 MB")
    )

    table = "| scenario | measured | target |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
