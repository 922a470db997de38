"""Fill an org with many users (and optionally one big group) fast, with COPY.

    python bench/load_data.py --org big --users 1000000 [--group-members 50000]

Rows go straight into Postgres with COPY: creating a million users through the
services would measure the services, not the endpoint under a full table. The rows
are what the services would write (same columns, userNames unique by their key).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from directory.audit import operator_actor  # noqa: E402
from directory.models import Group, Org, ScimDirectory  # noqa: E402
from directory.names import user_name_key  # noqa: E402
from directory.services import idp_configure, org_create, scim_enable  # noqa: E402


def ensure_org(slug: str) -> tuple[Org, ScimDirectory]:
    org = Org.objects.filter(slug=slug).first() or org_create(slug=slug, name=slug, seats=10**7)
    idp_configure(org=org, provider="okta", protocol="saml", actor=operator_actor())
    return org, scim_enable(org=org, actor=operator_actor())


def load_users(org: Org, directory: ScimDirectory, count: int, prefix: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    columns = (
        "id, org_id, directory_id, source, user_name, user_name_key, external_id, active, "
        "display_name, "
        "nick_name, name_formatted, given_name, family_name, middle_name, honorific_prefix, "
        "honorific_suffix, title, user_type, preferred_language, locale, timezone, profile_url, "
        "emails, phone_numbers, addresses, employee_number, cost_center, organization, division, "
        "department, has_seat, access, created_at, updated_at, version"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY directory_enduser ({columns}) FROM STDIN") as copy:
            for n, uid in enumerate(ids):
                name = f"{prefix}{n}@bench.example"
                copy.write_row(
                    (
                        uid,
                        org.pk,
                        directory.pk,
                        "scim",
                        name,
                        user_name_key(name),
                        f"ext-{prefix}{n}",
                        True,
                        f"User {n}",
                        "",
                        "",
                        "User",
                        str(n),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        f'[{{"value": "{name}", "type": "work", "primary": true}}]',
                        "[]",
                        "[]",
                        "",
                        "",
                        "",
                        "",
                        "",
                        False,
                        "",
                        "now()",
                        "now()",
                        1,
                    )
                )
        with raw.copy(
            'COPY directory_useremail (user_id, org_id, value, type, "primary") FROM STDIN'
        ) as copy:
            for n, uid in enumerate(ids):
                copy.write_row((uid, org.pk, f"{prefix}{n}@bench.example", "work", True))
        # VACUUM too: after a bulk COPY, autovacuum would otherwise start on these tables
        # during the measurements and compete with them for the two cores.
        cursor.execute("VACUUM (ANALYZE) directory_enduser")
        cursor.execute("VACUUM (ANALYZE) directory_useremail")
    return ids


def load_group(org: Org, directory: ScimDirectory, name: str, members: list[uuid.UUID]) -> Group:
    group = Group.objects.create(org=org, directory=directory, source="scim", display_name=name)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY directory_membership (group_id, user_id, created_at) FROM STDIN"
        ) as copy:
            for uid in members:
                copy.write_row((group.pk, uid, "now()"))
        cursor.execute("VACUUM (ANALYZE) directory_membership")
    return group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--group-members", type=int, default=0)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("load_data.py needs Postgres (DATABASE_URL)")
    started = time.monotonic()
    org, directory = ensure_org(args.org)
    ids = load_users(org, directory, args.users, prefix=f"{args.org}-")
    if args.group_members:
        load_group(org, directory, f"{args.org}-big", ids[: args.group_members])
    print(f"loaded {args.users} users into {args.org} in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
