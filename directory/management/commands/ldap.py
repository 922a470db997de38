from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from directory.ldap_client import LdapError
from directory.management.subcommands import SubcommandCommand
from directory.models import LdapDirectory, LdapSyncRun
from directory.services.ldap_directory import (
    ldap_configure,
    ldap_directory_get,
    ldap_filters,
    ldap_remove,
    ldap_test,
)
from directory.services.ldap_mapping import PRESETS
from directory.services.ldap_sync import ldap_runs, ldap_sync


def _read_text(path: str, *, what: str, limit: int) -> str:
    try:
        with Path(path).open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise CommandError(f"Cannot read the {what} {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise CommandError(f"The {what} {path} is larger than {limit:,} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise CommandError(f"The {what} {path} is not UTF-8 text") from None


def _totals_line(run: LdapSyncRun) -> str:
    t = run.totals
    return (
        f"users: {t.get('users_seen', 0)} found, {t.get('created', 0)} created, "
        f"{t.get('updated', 0)} updated, {t.get('disabled', 0)} disabled, "
        f"{t.get('deleted', 0)} deleted, {t.get('skipped', 0)} skipped, "
        f"{t.get('failed', 0)} failed; groups: {t.get('groups_seen', 0)} found, "
        f"{t.get('groups_created', 0)} created, {t.get('groups_updated', 0)} updated, "
        f"{t.get('groups_deleted', 0)} deleted; {run.duration_seconds or 0:.2f} s"
    )


class Command(SubcommandCommand):
    help = "Sync an org's users and groups from LDAP or Active Directory."

    def add_subcommands(self, subparsers: Any) -> None:
        configure = subparsers.add_parser(
            "configure", help="Save the org's LDAP server, bind account, bases and mapping"
        )
        configure.add_argument("slug")
        configure.add_argument("--url", required=True, help="ldaps://host[:port] or ldap://...")
        configure.add_argument("--bind-dn", required=True, metavar="DN")
        configure.add_argument(
            "--bind-password-file",
            metavar="PATH",
            help="a file holding the bind password (stored encrypted, never shown again; "
            "left out: the saved one is kept)",
        )
        configure.add_argument("--user-base", required=True, metavar="DN")
        configure.add_argument("--group-base", default="", metavar="DN")
        configure.add_argument("--preset", required=True, choices=sorted(PRESETS))
        configure.add_argument("--user-filter", default="", metavar="F")
        configure.add_argument("--group-filter", default="", metavar="F")
        configure.add_argument(
            "--security",
            choices=LdapDirectory.Security.values,
            default="",
            help="default: ldaps for ldaps:// URLs, starttls for ldap:// ones",
        )
        configure.add_argument("--ca-file", metavar="PATH", help="a PEM CA certificate")
        configure.add_argument(
            "--attribute",
            action="append",
            default=[],
            metavar="NAME=ATTR",
            help="map NAME (user_name, email, given_name, ...) to LDAP attribute ATTR",
        )
        configure.add_argument("--page-size", type=int, default=None)
        configure.add_argument(
            "--schedule", choices=["on", "off"], default="on", help="the hourly sync"
        )
        configure.set_defaults(handler=self.configure)
        for name, text in (
            ("test", "Bind, count what the filters find and show five users as stored"),
            ("sync", "Sync now and print the run's totals (exit 1 if it failed)"),
            ("status", "Show the org's LDAP settings and its last runs"),
            ("remove", "Remove the LDAP directory; its users stay, as manual ones"),
        ):
            sub = subparsers.add_parser(name, help=text)
            sub.add_argument("slug")
            sub.set_defaults(handler=getattr(self, name))

    def configure(self, slug: str, **o: Any) -> None:
        org = self.org(slug)
        password = None
        if o["bind_password_file"] is not None:
            password = _read_text(o["bind_password_file"], what="password file", limit=2000)
            password = password.rstrip("\r\n")
            if not password:
                raise CommandError("The password file is empty")
        ca = ""
        if o["ca_file"] is not None:
            ca = _read_text(o["ca_file"], what="CA certificate file", limit=100_000)
        attributes: dict[str, str] = {}
        for pair in o["attribute"]:
            name, sep, attribute = pair.partition("=")
            if not sep or not name.strip():
                raise CommandError(f"--attribute {pair!r}: give NAME=ATTR")
            attributes[name.strip()] = attribute.strip()
        ldap = ldap_configure(
            org=org,
            url=o["url"],
            security=o["security"],
            bind_dn=o["bind_dn"],
            bind_password=password,
            user_base=o["user_base"],
            group_base=o["group_base"],
            user_filter=o["user_filter"],
            group_filter=o["group_filter"],
            preset=o["preset"],
            ca_certificate=ca,
            attributes=attributes,
            page_size=o["page_size"],
            enabled=o["schedule"] == "on",
            actor=self.actor,
        )
        self.say(f"Saved the LDAP directory of {slug}: {ldap.url} ({ldap.get_preset_display()})")
        self.say(f"Run `manage.py ldap test {slug}` to check it, `ldap sync {slug}` to sync now.")

    def test(self, slug: str, **_: Any) -> None:
        ldap = ldap_directory_get(org=self.org(slug))
        try:
            result = ldap_test(ldap=ldap)
        except LdapError as e:
            raise CommandError(str(e)) from None
        self.say(f"Bound to {ldap.url} as {ldap.bind_dn}")
        self.say(f"Users found: {result.users}")
        self.say(f"Groups found: {result.groups}" if ldap.group_base else "Groups: no base DN")
        for sample in result.samples:
            f = sample.fields
            state = "active" if f.active else "disabled"
            name = " ".join(p for p in (f.given_name, f.family_name) if p) or f.display_name
            self.say(f"  {f.user_name or '(no userName)'}  {name}  {state}  id {sample.stable_id}")

    def sync(self, slug: str, **_: Any) -> None:
        run = ldap_sync(org=self.org(slug), trigger="cli")
        self.say(f"Sync of {slug}: {run.status}")
        self.say(_totals_line(run))
        if run.status != LdapSyncRun.Status.SUCCESS:
            raise CommandError(run.error or "The sync failed")

    def status(self, slug: str, **_: Any) -> None:
        org = self.org(slug)
        ldap = ldap_directory_get(org=org)
        user_filter, group_filter = ldap_filters(ldap)
        self.say(f"URL: {ldap.url} ({ldap.get_security_display()})")
        password = "set (not shown)" if ldap.bind_password else "not set"
        self.say(f"Bind DN: {ldap.bind_dn}; password {password}")
        self.say(f"Preset: {ldap.get_preset_display()}")
        self.say(f"Users: {ldap.user_base} {user_filter}")
        self.say(f"Groups: {ldap.group_base or '-'} {group_filter if ldap.group_base else ''}")
        self.say(f"Hourly sync: {'on' if ldap.enabled else 'off'}")
        runs = ldap_runs(org=org, limit=5)
        if not runs:
            self.say("No runs yet")
        for run in runs:
            when = f"{run.started_at:%Y-%m-%d %H:%M:%S}"
            self.say(f"{when} {run.trigger} {run.status}: {_totals_line(run)}")
            if run.error:
                self.say(f"  {run.error}")

    def remove(self, slug: str, **_: Any) -> None:
        kept = ldap_remove(org=self.org(slug), actor=self.actor)
        self.say(f"Removed the LDAP directory of {slug}; its {kept} user(s) stay, as manual ones")
