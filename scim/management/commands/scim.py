from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from directory.management.subcommands import SubcommandCommand
from directory.models import Org, ScimDirectory
from directory.selectors import (
    access_group_list,
    group_name_collision_list,
    scim_directory_get,
    user_name_collision_list,
)
from directory.services import (
    org_access_groups_set,
    org_deprovision_set,
    scim_directory_delete,
    scim_disable,
    scim_enable,
)
from tokens.services import token_issue, token_revoke


class Command(SubcommandCommand):
    help = (
        "Switch an org's SCIM directory on or off, manage its API tokens; set the org's "
        "deprovisioning policy and access groups (with or without a directory)."
    )

    def add_subcommands(self, subparsers: Any) -> None:
        for name, handler, text in (
            ("enable", self.enable, "Switch SCIM on and print the Base URL"),
            ("disable", self.disable, "Switch SCIM off: the Base URL answers 401"),
            ("status", self.status, "Show the org's SCIM directory"),
            (
                "collisions",
                self.collisions,
                "List users and groups whose name equals an older one's by the case rule",
            ),
        ):
            p = subparsers.add_parser(name, help=text)
            p.add_argument("slug")
            p.set_defaults(handler=handler)

        delete = subparsers.add_parser(
            "delete", help="Delete the SCIM directory (users and groups stay, as manual)"
        )
        delete.add_argument("slug")
        delete.add_argument("--yes", action="store_true", help="confirm the deletion")
        delete.set_defaults(handler=self.delete)

        policy = subparsers.add_parser(
            "policy", help="Set what the IdP's deactivations do (the org's policy)"
        )
        policy.add_argument("slug")
        policy.add_argument("--deprovision", required=True, choices=Org.Deprovision.values)
        policy.add_argument(
            "--grace-days",
            type=int,
            help="with disable-then-delete: days a deactivated user is kept (default 30)",
        )
        policy.set_defaults(handler=self.policy)

        access = subparsers.add_parser(
            "access-groups", help="Restrict the org's access to members of some groups"
        )
        access.add_argument("slug")
        which = access.add_mutually_exclusive_group(required=True)
        which.add_argument("--set", dest="names", help='group names, comma-separated: "A,B"')
        which.add_argument("--clear", action="store_true")
        access.set_defaults(handler=self.access_groups)

        token = subparsers.add_parser("token", help="Manage SCIM API tokens")
        token_sub = token.add_subparsers(dest="token_command", required=True)
        issue = token_sub.add_parser("issue", help="Issue a token (shown once)")
        issue.add_argument("slug")
        issue.add_argument("--name", default="")
        issue.add_argument(
            "--json", action="store_true", dest="as_json", help='print {"id", "token", "base_url"}'
        )
        issue.set_defaults(handler=self.token_issue)
        listing = token_sub.add_parser("list", help="List the directory's tokens")
        listing.add_argument("slug")
        listing.set_defaults(handler=self.token_list)
        revoke = token_sub.add_parser("revoke", help="Revoke a token at once")
        revoke.add_argument("slug")
        revoke.add_argument("token_id")
        revoke.set_defaults(handler=self.token_revoke)

    def directory(self, org: Org) -> ScimDirectory:
        directory = scim_directory_get(org=org)
        if directory is None:
            raise CommandError(
                f"Org {org.slug} has no SCIM directory: run `scim enable {org.slug}`"
            )
        return directory

    def enable(self, slug: str, **_: Any) -> None:
        directory = scim_enable(org=self.org(slug), actor=self.actor)
        self.say(f"SCIM is enabled for {slug}.")
        self.say(f"Base URL: {directory.base_url}")

    def disable(self, slug: str, **_: Any) -> None:
        scim_disable(org=self.org(slug), actor=self.actor)
        self.say(
            f"SCIM is disabled for {slug}: its Base URL answers 401 until it is enabled again."
        )

    def status(self, slug: str, **_: Any) -> None:
        org = self.org(slug)
        directory = scim_directory_get(org=org)
        groups = ", ".join(g.display_name for g in access_group_list(org=org)) or "none"
        if directory is None:
            self.say(f"{slug}: SCIM is not set up (run `scim enable {slug}`)")
        else:
            self.say(f"{slug}: SCIM {'enabled' if directory.enabled else 'disabled'}")
            self.say(f"Base URL: {directory.base_url}")
        self.say(f"Deprovisioning: {_policy(org)}")
        self.say(f"Access groups: {groups}")
        if directory is None:
            return
        self.say(f"Active tokens: {directory.tokens.filter(revoked_at__isnull=True).count()}")
        self.say(
            f"Users: {directory.users.count()}, groups: {directory.groups.count()}, "
            f"seats: {org.seats_used}/{org.seats}"
        )

    def collisions(self, slug: str, **_: Any) -> None:
        org = self.org(slug)
        users = user_name_collision_list(org=org)
        groups = group_name_collision_list(org=org)
        if not users and not groups:
            self.say(f"{slug}: no name collisions.")
        free = "collides with no one now: its next update gives it the key"
        for u in users:
            held = f"collides with {u.holder.id}\t{u.holder.user_name}" if u.holder else free
            self.say(f"user\t{u.user.id}\t{u.user.user_name}\t{held}")
        for g in groups:
            held = f"collides with {g.holder.id}\t{g.holder.display_name}" if g.holder else free
            self.say(f"group\t{g.group.id}\t{g.group.display_name}\t{held}")

    def delete(self, slug: str, yes: bool, **_: Any) -> None:
        if not yes:
            raise CommandError(
                "Deleting the SCIM directory stops syncing and revokes its tokens; "
                "users and groups stay, and so do the org's deprovisioning policy and "
                "access groups. Add --yes to confirm."
            )
        scim_directory_delete(org=self.org(slug), actor=self.actor)
        self.say(f"Deleted the SCIM directory of {slug}. Its users and groups stay, as manual.")

    def policy(self, slug: str, deprovision: str, grace_days: int | None, **_: Any) -> None:
        if grace_days is not None and deprovision != Org.Deprovision.DISABLE_THEN_DELETE:
            raise CommandError("--grace-days goes with --deprovision disable-then-delete")
        org = org_deprovision_set(
            org=self.org(slug), deprovision=deprovision, grace_days=grace_days, actor=self.actor
        )
        self.say(f"Deprovisioning for {slug}: {_policy(org)}")

    def access_groups(self, slug: str, names: str | None, clear: bool, **_: Any) -> None:
        wanted = [] if clear else [n for n in (names or "").split(",") if n.strip()]
        if not clear and not wanted:
            raise CommandError('Give group names: --set "Engineering,Sales" (or --clear)')
        groups = org_access_groups_set(org=self.org(slug), names=wanted, actor=self.actor)
        if groups:
            self.say(
                f"Access for {slug} is limited to: {', '.join(g.display_name for g in groups)}"
            )
        else:
            self.say(f"Access for {slug} is not limited by group")

    def token_issue(self, slug: str, name: str, as_json: bool, **_: Any) -> None:
        directory = self.directory(self.org(slug))
        issued = token_issue(directory=directory, name=name, actor=self.actor)
        if as_json:
            self.say(
                json.dumps(
                    {
                        "id": str(issued.token.id),
                        "token": issued.plaintext,
                        "base_url": directory.base_url,
                    }
                )
            )
            return
        self.say(f"Token {issued.token.id} ({issued.token.name or 'unnamed'}):")
        self.say(issued.plaintext)
        self.say("Copy it now: it is shown only once.")
        self.say(f"Base URL: {directory.base_url}")

    def token_list(self, slug: str, **_: Any) -> None:
        directory = self.directory(self.org(slug))
        tokens = list(directory.tokens.order_by("created_at"))
        if not tokens:
            self.say("No tokens.")
        for t in tokens:
            used = (
                f"last used {t.last_used_at:%Y-%m-%d %H:%M} UTC from {t.last_used_ip} "
                f"({t.last_used_user_agent or 'unknown client'})"
                if t.last_used_at
                else "never used"
            )
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            self.say(
                f"{t.id}\t{t.name or '-'}\t{t.prefix}…\tcreated {t.created_at:%Y-%m-%d %H:%M}"
                f"\t{used}\t{state}"
            )

    def token_revoke(self, slug: str, token_id: str, **_: Any) -> None:
        token = token_revoke(
            directory=self.directory(self.org(slug)), token_id=token_id, actor=self.actor
        )
        self.say(
            f"Revoked token {token.id} ({token.prefix}…): it authenticates nothing from now on."
        )


def _policy(org: Org) -> str:
    if org.deprovision == Org.Deprovision.DISABLE_THEN_DELETE:
        return f"Disable, then delete after {org.deprovision_grace_days} days"
    return org.get_deprovision_display()
