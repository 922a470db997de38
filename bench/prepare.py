"""Create the benchmark orgs, directories and tokens; print the targets as JSON.

python bench/prepare.py --site http://127.0.0.1:8765 [--tenants 20] [--small 1000]
    [--huge 1000000] [--big-group 50000] > targets.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()

from bench.load_data import ensure_org, load_group, load_users  # noqa: E402
from directory.models import Group, Org  # noqa: E402
from directory.services import org_admin_add  # noqa: E402
from tokens.services import token_issue  # noqa: E402


def target(slug: str) -> dict[str, str]:
    org, directory = ensure_org(slug)
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=directory.created_at)
    return {"base_url": directory.base_url, "token": token_issue(directory=directory).plaintext}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--huge", type=int, default=0)
    parser.add_argument("--big-group", type=int, default=0)
    parser.add_argument("--console", type=int, default=0, help="users in the console's org")
    args = parser.parse_args()
    out: dict[str, object] = {"sync": target("bench-sync")}
    out["tenants"] = [target(f"bench-t{n}") for n in range(args.tenants)]
    if args.huge:
        for key, size in (("small", args.small), ("huge", args.huge)):
            slug = f"bench-{key}"
            existing = Org.objects.filter(slug=slug).first()
            t = target(slug)
            org, directory = ensure_org(slug)
            if existing is None or org.users.count() < size:
                ids = load_users(org, directory, size, prefix=f"{slug}-")
            else:
                ids = list(org.users.values_list("id", flat=True)[: max(args.big_group, 10000)])
            entry: dict[str, object] = {"target": t, "prefix": f"{slug}-", "users": size}
            if key == "huge" and args.big_group:
                group = Group.objects.filter(org=org, display_name=f"{slug}-big").first()
                if group is None:
                    group = load_group(org, directory, f"{slug}-big", ids[: args.big_group])
                entry["big_group"] = str(group.id)
                entry["member_pool"] = [
                    str(i) for i in ids[args.big_group : args.big_group + 10000]
                ]
            out[key] = entry
    if args.console:
        out["console"] = console_org(args.console)
        out["site"] = settings.SITE_URL
    print(json.dumps(out))


def console_org(size: int) -> dict[str, object]:
    """An org of `size` users and an admin who signs in to its console."""
    slug = "bench-console"
    org, directory = ensure_org(slug)
    if org.users.count() < size:
        load_users(org, directory, size - org.users.count(), prefix=f"{slug}-{org.users.count()}-")
    admin, _ = org_admin_add(org=org, email="admin@bench-console.example")
    password = secrets.token_urlsafe(16)
    admin.user.set_password(password)
    admin.user.save()
    return {"slug": slug, "username": admin.user.username, "password": password, "users": size}


if __name__ == "__main__":
    main()
