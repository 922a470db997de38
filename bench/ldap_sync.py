"""Time an LDAP sync: N users (and their groups) in a real slapd started here, synced
into one org, with the time and the peak memory of each run. Prints a Markdown table.

python bench/ldap_sync.py [--users 10000] [--groups 20] [--page-size 500]

Uses DATABASE_URL like the service (bench/run.sh: its throwaway Postgres; unset: the
SQLite default). Runs: the first sync (every user created), a second with nothing
changed, and a third after 1% of the users were renamed and 1% deleted in LDAP.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")
# slapd listens on 127.0.0.1 over plain ldap://, which only development allows.
os.environ["OUTBOUND_ALLOW_PRIVATE"] = "1"

import django  # noqa: E402

django.setup()

import ldap3  # noqa: E402

from directory.audit import operator_actor  # noqa: E402
from directory.models import Org  # noqa: E402
from directory.services import org_create  # noqa: E402
from directory.services.ldap_directory import ldap_configure  # noqa: E402
from directory.services.ldap_sync import ldap_sync  # noqa: E402
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Slapd, Tree  # noqa: E402


def _ldif(tree: Tree, users: int, groups: int) -> str:
    out = []
    for i in range(users):
        out.append(
            f"dn: {tree.user_dn(f'u{i:06d}')}\nobjectClass: inetOrgPerson\nuid: u{i:06d}\n"
            f"cn: Given{i} Family{i}\ngivenName: Given{i}\nsn: Family{i}\n"
            f"mail: u{i:06d}@bench.example\ntitle: Engineer\ndepartmentNumber: D{i % 40}\n"
        )
    per_group = max(1, users // groups)
    for g in range(groups):
        members = "".join(
            f"member: {tree.user_dn(f'u{i:06d}')}\n"
            for i in range(g * per_group, min(users, (g + 1) * per_group))
        )
        out.append(
            f"dn: {tree.group_dn(f'team{g}')}\nobjectClass: groupOfNames\ncn: team{g}\n{members}"
        )
    return "\n".join(out)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    server = Slapd().start()
    try:
        tree = Tree.create(server)
        started = time.monotonic()
        server.ldapadd(_ldif(tree, args.users, args.groups))
        loaded = time.monotonic() - started
        Org.objects.filter(slug="bench-ldap").delete()
        org = org_create(slug="bench-ldap", name="LDAP bench", seats=args.users * 2)
        ldap_configure(
            org=org,
            url=server.url,
            security="none",
            bind_dn=ADMIN_DN,
            bind_password=ADMIN_PASSWORD,
            user_base=tree.people,
            group_base=tree.groups,
            preset="openldap",
            page_size=args.page_size,
            actor=operator_actor(),
        )
        rows = []
        before = _rss_mib()
        for label in ("first sync (all created)", "second sync (nothing changed)", "third"):
            if label == "third":
                step = 100
                with server.connection() as c:
                    for i in range(0, args.users, step):
                        dn = tree.user_dn(f"u{i:06d}")
                        if (i // step) % 2:
                            c.delete(dn)
                        else:
                            c.modify(
                                dn, {"mail": [(ldap3.MODIFY_REPLACE, [f"r{i}@bench.example"])]}
                            )
                changed = args.users // step // 2
                label = f"third sync ({changed} renamed, {changed} deleted)"
            started = time.monotonic()
            run = ldap_sync(org=org, trigger="bench")
            seconds = time.monotonic() - started
            t = run.totals
            assert run.status == "success", run.error
            rows.append(
                f"| {label} | {seconds:.1f} s ({t['users_seen'] / seconds:,.0f} entries/s) | "
                f"{t['created']} / {t['updated']} / {t['disabled']} / {t['deleted']} / "
                f"{t['failed']} | {t['groups_created']} / {t['groups_updated']} | "
                f"{_rss_mib():.0f} MiB |"
            )
        size = f"{args.users:,} users in {args.groups} groups, pages of {args.page_size}"
        print(f"\n### LDAP sync, {size}\n")
        print(
            f"slapd loaded with ldapadd in {loaded:.1f} s; this process's peak memory "
            f"before the first sync {before:.0f} MiB.\n"
        )
        print(
            "| run | time | users created / updated / disabled / deleted / failed "
            "| groups created / updated | peak memory (RSS, process) |"
        )
        print("|---|---|---|---|---|")
        print("\n".join(rows))
        print(f"\nDatabase: {django.db.connection.vendor}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
