"""What the console's search indexes cost each user created: single-row INSERTs of users
and their email, one transaction each (as a SCIM create commits), first under the
trigram GIN indexes (migration user_search_trigram_indexes), then under the prefix
btree indexes it replaced (0005), with the same rows. Needs Postgres (DATABASE_URL).

    bash bench/search_index_cost.sh [USERS]

Prints a Markdown table: users inserted per second and the wall time per user (the client
waits on Postgres for each commit; both run on this machine's cores).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from directory.models import EndUser, Org, UserEmail  # noqa: E402


def insert(org: Org, n: int, tag: str) -> float:
    started = time.perf_counter()
    for i in range(n):
        name = f"{tag}-{i}-{uuid.uuid4().hex[:8]}@bench.example"
        with transaction.atomic():
            user = EndUser.objects.create(
                org=org,
                user_name=name,
                given_name=f"Given{i}",
                family_name=f"Family{i}",
                display_name=f"Given{i} Family{i}",
                emails=[{"value": name, "primary": True}],
            )
            UserEmail.objects.create(user=user, org=org, value=name, primary=True)
    return time.perf_counter() - started


def indexes() -> list[str]:
    with connection.cursor() as c:
        c.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'enduser_trgm%' "
            "OR indexname LIKE 'enduser_prefix%' ORDER BY 1"
        )
        return [row[0] for row in c.fetchall()]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    org, _ = Org.objects.get_or_create(slug="bench-index-cost", defaults={"name": "Index cost"})
    rows = []
    for label, target in (
        ("trigram GIN (now)", "0019_user_search_trigram_indexes"),
        ("prefix btree (before)", "0018_ldap_directory"),
        ("trigram GIN (now), again", "0019_user_search_trigram_indexes"),
        ("prefix btree (before), again", "0018_ldap_directory"),
    ):
        call_command("migrate", "directory", target, verbosity=0)
        insert(org, 200, "warm")
        wall = insert(org, n, label.split()[0])
        rows.append((label, ", ".join(indexes()), n / wall, wall / n * 1000))
    call_command("migrate", verbosity=0)
    print(f"| indexes ({n:,} users, one transaction each) | inserts/s | ms per user |")
    print("|---|---|---|")
    for label, _names, rate, ms in rows:
        print(f"| {label} | {rate:,.0f} | {ms:.2f} |")


if __name__ == "__main__":
    main()
