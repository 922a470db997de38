from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from directory.management.subcommands import SubcommandCommand
from directory.selectors import org_list
from directory.services import org_admin_add, org_create, org_update


class Command(SubcommandCommand):
    help = "Create, list and update orgs, and add their admins."

    def add_subcommands(self, subparsers: Any) -> None:
        create = subparsers.add_parser("create", help="Create an org")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--seats", type=int, default=100)
        create.set_defaults(handler=self.create)

        subparsers.add_parser("list", help="List every org").set_defaults(handler=self.list)

        update = subparsers.add_parser("update", help="Rename an org or change its seats")
        update.add_argument("slug")
        update.add_argument("--name")
        update.add_argument("--seats", type=int)
        update.set_defaults(handler=self.update)

        admin = subparsers.add_parser("admin", help="Manage an org's admins")
        admin_sub = admin.add_subparsers(dest="admin_command", required=True)
        add = admin_sub.add_parser("add", help="Make someone an admin of the org")
        add.add_argument("slug")
        add.add_argument("email")
        add.set_defaults(handler=self.admin_add)

    def create(self, slug: str, name: str, seats: int, **_: Any) -> None:
        org = org_create(slug=slug, name=name, seats=seats)
        self.say(f"Created org {org.slug} ({org.name}) with {org.seats} seats")

    def list(self, **_: Any) -> None:
        orgs = list(org_list())
        if not orgs:
            self.say("No orgs yet: create one with `manage.py org create SLUG --name NAME`")
            return
        for org in orgs:
            self.say(f"{org.slug}\t{org.name}\t{org.seats_used}/{org.seats} seats")

    def update(self, slug: str, name: str | None, seats: int | None, **_: Any) -> None:
        if name is None and seats is None:
            raise CommandError("Nothing to update: give --name and/or --seats")
        org = org_update(org=self.org(slug), name=name, seats=seats)
        self.say(f"Updated org {org.slug}: {org.name}, {org.seats} seats")

    def admin_add(self, slug: str, email: str, **_: Any) -> None:
        org = self.org(slug)
        admin, password = org_admin_add(org=org, email=email)
        login = settings.SITE_URL + reverse("login")
        self.say(f"{admin.user.username} is an admin of {org.slug}.")
        if password is None:
            self.say(f"They sign in at {login} with their existing password.")
        else:
            self.say(
                f"Sign in at {login} as {admin.user.username} with the one-time password "
                f"{password} (change it after signing in, or use 'Forgot password')."
            )
