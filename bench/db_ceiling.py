"""What Postgres alone allows on this machine: single-row insert commits at
concurrency 8, and indexed point selects, from Python threads (psycopg 3)."""

from __future__ import annotations

import os
import threading
import time

import psycopg

SECONDS = 5.0


def run(sql_setup: str, statement: str, threads: int, autocommit: bool) -> float:
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql_setup)
    counts = [0] * threads
    deadline = time.perf_counter() + SECONDS

    def worker(n: int) -> None:
        with psycopg.connect(url, autocommit=autocommit) as conn:
            while time.perf_counter() < deadline:
                conn.execute(statement, (n,))
                counts[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / SECONDS


def main() -> None:
    inserts = run(
        "CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial primary key, n int, note text)",
        "INSERT INTO bench_ceiling (n, note) VALUES (%s, 'x')",
        8,
        autocommit=True,
    )
    selects = run(
        "SELECT 1",
        "SELECT id FROM directory_enduser WHERE user_name_key = 'nobody-' || %s::text LIMIT 1",
        8,
        autocommit=True,
    )
    print(
        f"\nDatabase ceiling: {inserts:,.0f} single-row insert commits/s and "
        f"{selects:,.0f} indexed point selects/s (8 threads, psycopg 3, {SECONDS:.0f} s each)"
    )


if __name__ == "__main__":
    main()
