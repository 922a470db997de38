"""The database at many orgs and millions of users: sizes, load time, hot requests.

    bash bench/scale.sh [--orgs 1000] [--users 2000000]   (a throwaway Postgres 15)

Fills the database in two steps with COPY (the rows bench/load_data.py writes, for many
orgs in one stream): first a small directory (1 % of the orgs and users), then the rest.
After each step it reports every table's and index's size and times the hot requests,
in this process through Django's test client (the whole SCIM or console view, the
middleware and the provisioning log included; no network, no gunicorn): a `userName eq`
and an `externalId eq` lookup, a user GET by id, a PATCH adding one group member, the
Users page (first page, and a search). The same orgs are asked at both steps, so the
difference is the size of everything else plus their own growth. Prints Markdown.

Org sizes are skewed: three orgs of 15 % of the users each, twenty of 1 % each, and the
rest falling off as 1/rank (a Zipf tail), each at least 20 users.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SCIM_RATE_PER_TOKEN", "1000000")
os.environ.setdefault("SCIM_RATE_PER_ORG", "1000000")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.load_data import ensure_org  # noqa: E402
from directory.models import Group, Org, ScimDirectory  # noqa: E402
from directory.names import user_name_key  # noqa: E402
from directory.services import org_admin_add  # noqa: E402
from tokens.services import token_issue  # noqa: E402

USER_COLUMNS = (
    "id, org_id, directory_id, source, user_name, user_name_key, external_id, active, "
    "display_name, nick_name, name_formatted, given_name, family_name, middle_name, "
    "honorific_prefix, honorific_suffix, title, user_type, preferred_language, locale, "
    "timezone, profile_url, emails, phone_numbers, addresses, employee_number, cost_center, "
    "organization, division, department, has_seat, access, created_at, updated_at, version"
)
GROUPS_PER_ORG = 5  # every user is a member of one of its org's groups
SAMPLES = 200  # timed requests of each kind, per org and step


def org_sizes(orgs: int, users: int) -> list[int]:
    """Skewed sizes summing to `users`, largest first."""
    big = [users * 15 // 100] * min(3, orgs)
    mid = [users // 100] * min(20, max(0, orgs - len(big)))
    rest = orgs - len(big) - len(mid)
    left = users - sum(big) - sum(mid)
    weights = [1 / (rank + 1) for rank in range(rest)]
    tail = [max(20, int(left * w / sum(weights))) for w in weights]
    sizes = big + mid + tail
    sizes[-1] += users - sum(sizes)  # rounding: the smallest org takes the remainder
    if sizes[-1] < 1:
        raise SystemExit(f"{users} users are too few for {orgs} orgs")
    return sizes


def copy_users(orgs: list[tuple[Org, ScimDirectory, int]]) -> None:
    """COPY the users (as bench/load_data.load_users writes them), their email rows and
    one membership each, for every (org, directory, count) in one stream per table."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        groups: dict[int, list[uuid.UUID]] = {}
        for org, directory, _ in orgs:
            groups[org.pk] = [
                Group.objects.create(
                    org=org, directory=directory, source="scim", display_name=f"{org.slug}-g{g}"
                ).pk
                for g in range(GROUPS_PER_ORG)
            ]
        ids: list[tuple[Org, uuid.UUID, str]] = []
        with raw.copy(f"COPY directory_enduser ({USER_COLUMNS}) FROM STDIN") as copy:
            for org, directory, count in orgs:
                for n in range(count):
                    uid = uuid.uuid4()
                    name = f"{org.slug}-{n}@bench.example"
                    ids.append((org, uid, name))
                    copy.write_row(
                        (uid, org.pk, directory.pk, "scim", name, user_name_key(name),
                         f"ext-{org.slug}-{n}", True, f"User {n}", "", "", "User", str(n),
                         "", "", "", "", "", "", "", "", "",
                         f'[{{"value": "{name}", "type": "work", "primary": true}}]',
                         "[]", "[]", "", "", "", "", "", False, "", "now()", "now()", 1)
                    )  # fmt: skip
        with raw.copy(
            'COPY directory_useremail (user_id, org_id, value, type, "primary") FROM STDIN'
        ) as copy:
            for org, uid, name in ids:
                copy.write_row((uid, org.pk, name, "work", True))
        with raw.copy("COPY directory_membership (group_id, user_id, created_at) FROM STDIN") as c:
            for n, (org, uid, _) in enumerate(ids):
                c.write_row((groups[org.pk][n % GROUPS_PER_ORG], uid, "now()"))
        for table in ("directory_enduser", "directory_useremail", "directory_membership"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def create_orgs(sizes: list[int], first: int) -> list[tuple[Org, ScimDirectory, int]]:
    out = []
    for n, size in enumerate(sizes, start=first):
        org, directory = ensure_org(f"scale-{n:05d}")
        Org.objects.filter(pk=org.pk).update(seats=10**8)
        out.append((org, directory, size))
    return out


def sizes_report() -> list[tuple[str, int, int, int]]:
    """(table, rows, table bytes, index bytes) of the directory's and the logs' tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid),
                      pg_indexes_size(c.oid)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind = 'r' AND n.nspname = 'public'
                 AND pg_total_relation_size(c.oid) > 1024 * 1024
               ORDER BY pg_total_relation_size(c.oid) DESC"""
        )
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in cursor.fetchall()]


def index_report(table: str) -> list[tuple[str, int, str]]:
    """(index, bytes, B-tree levels below the root or "" for another kind) of `table`."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        cursor.execute(
            """SELECT i.relname, pg_relation_size(i.oid), am.amname FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
               JOIN pg_am am ON am.oid = i.relam
               WHERE t.relname = %s ORDER BY 2 DESC""",
            [table],
        )
        out = []
        for name, size, kind in cursor.fetchall():
            levels = ""
            if kind == "btree":
                cursor.execute("SELECT level FROM bt_metap(%s)", [name])
                levels = str(cursor.fetchone()[0])
            out.append((name, int(size), levels))
        return out


# The tables that grow with every request and change, not with the directory's size.
LOG_TABLES = ("directory_scimrequest", "directory_changeevent", "directory_provisioningevent")


def row_bytes() -> list[tuple[str, int, float]]:
    """(table, rows, bytes per row with its indexes) of the tables in LOG_TABLES."""
    out: list[tuple[str, int, float]] = []
    with connection.cursor() as cursor:
        for table in LOG_TABLES:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            rows, size = cursor.fetchone()
            out.append((table, rows, size / rows if rows else 0.0))
    return out


def timed(fn: Callable[[int], object], samples: int = SAMPLES) -> tuple[float, float]:
    """p50 and p99 in ms of `samples` calls (after 10 untimed ones)."""
    for n in range(10):
        fn(n)
    times = []
    for n in range(10, 10 + samples):
        started = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def hot_requests(org: Org, directory: ScimDirectory, size: int) -> dict[str, tuple[float, float]]:
    """The hot requests against `org` (of `size` users), each timed SAMPLES times."""
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=directory.created_at)
    token = token_issue(directory=directory, name=f"scale-{uuid.uuid4().hex[:6]}").plaintext
    scim = Client(headers={"authorization": f"Bearer {token}"})
    base = f"/scim/v2/{directory.pk}"
    rand = random.Random(size)
    picks = [rand.randrange(size) for _ in range(SAMPLES + 10)]
    ids = dict(
        org.users.filter(
            user_name__in=[f"{org.slug}-{n}@bench.example" for n in picks]
        ).values_list("user_name", "id")
    )
    # A group of this run's own, so every PATCH adds a user who is not a member yet.
    group = Group.objects.create(
        org=org, directory=directory, source="scim", display_name=f"probe-{uuid.uuid4().hex[:8]}"
    )
    spare = list(org.users.values_list("id", flat=True)[: SAMPLES + 10])

    def get(url: str) -> Callable[[int], object]:
        def run(n: int) -> None:
            r = scim.get(url.format(n=picks[n]))
            assert r.status_code == 200, (url, r.status_code, r.content[:300])

        return run

    def user_get(n: int) -> None:
        r = scim.get(f"{base}/Users/{ids[f'{org.slug}-{picks[n]}@bench.example']}")
        assert r.status_code == 200, r.content[:300]

    def member_add(n: int) -> None:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": str(spare[n])}]}],
        }
        r = scim.patch(
            f"{base}/Groups/{group.pk}", json.dumps(body), content_type="application/scim+json"
        )
        assert r.status_code in (200, 204), r.content[:300]

    membership, _ = org_admin_add(org=org, email=f"admin@{org.slug}.example")
    console = Client()
    console.force_login(membership.user)

    def page(query: str) -> Callable[[int], object]:
        def run(n: int) -> None:
            r = console.get(f"/o/{org.slug}/users/{query.format(n=picks[n])}")
            assert r.status_code == 200, (query, r.status_code)

        return run

    return {
        "userName eq lookup": timed(
            get(base + '/Users?filter=userName eq "' + org.slug + '-{n}@bench.example"')
        ),
        "externalId eq lookup": timed(
            get(base + '/Users?filter=externalId eq "ext-' + org.slug + '-{n}"')
        ),  # noqa: E501
        "user GET by id": timed(user_get),
        "group member add (PATCH, 1 member)": timed(
            member_add, samples=min(SAMPLES, len(spare) - 10)
        ),
        "Users page, first page": timed(page(""), samples=50),
        "Users page, search (userName prefix)": timed(page("?q=" + org.slug + "-{n}"), samples=50),
    }


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def report(step: str, probes: list[tuple[Org, ScimDirectory, int]]) -> None:
    rows = sizes_report()
    print(f"\n### {step}\n")
    print("| table | rows | table MiB | indexes MiB |\n|---|---:|---:|---:|")
    for name, count, table, index in rows:
        print(f"| {name} | {count:,} | {mib(table)} | {mib(index)} |")
    total = sum(t + i for _, _, t, i in rows)
    print(f"\nTotal of these tables: {mib(total)} MiB.\n")
    print("| index of directory_enduser | MiB | B-tree levels below the root |\n|---|---:|---:|")
    for name, size, levels in index_report("directory_enduser"):
        print(f"| {name} | {mib(size)} | {levels} |")
    print("\n| request | org size | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for org, directory, size in probes:
        for label, (p50, p99) in hot_requests(org, directory, size).items():
            print(f"| {label} | {size:,} | {p50:.1f} | {p99:.1f} |")
    print("\n| written by the requests above | rows | bytes per row, indexes included |")
    print("|---|---:|---:|")
    for log_table, count, per_row in row_bytes():
        print(f"| {log_table} | {count:,} | {per_row:,.0f} |")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=2_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("scale.py needs Postgres (DATABASE_URL)")
    sizes = org_sizes(args.orgs, args.users)
    print(f"## {args.orgs:,} orgs, {args.users:,} users\n")
    median = sorted(sizes)[len(sizes) // 2]
    print(f"Largest orgs {sizes[:4]}, median {median}, smallest {sizes[-1]}")

    # Step 1, 1 % of the orgs: a mid-sized org (the 4th largest) and the smallest ones,
    # at their final sizes. Step 2 adds every other org, so the probes of step 1 are
    # asked again at the same size in a database a hundred times larger.
    first = [3] + list(range(len(sizes) - max(2, args.orgs // 100) + 1, len(sizes)))
    started = time.monotonic()
    small = create_orgs([sizes[i] for i in first], 0)
    copy_users(small)
    loaded = sum(s for *_, s in small)
    print(f"\nStep 1: {len(small)} orgs, {loaded:,} users loaded in "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    probes = [small[0], small[-1]]
    report(f"Step 1: {len(small)} orgs, {loaded:,} users", probes)

    started = time.monotonic()
    rest = create_orgs([s for i, s in enumerate(sizes) if i not in first], len(small))
    copy_users(rest)
    elapsed = time.monotonic() - started
    more = sum(s for *_, s in rest)
    print(f"\nStep 2: {len(rest)} more orgs, {more:,} more users loaded in {elapsed:.0f} s "
          f"({more / elapsed:,.0f} users/s with their email rows and memberships)")  # fmt: skip
    report(f"Step 2: {len(small) + len(rest)} orgs, {loaded + more:,} users", [rest[0], *probes])


if __name__ == "__main__":
    main()
