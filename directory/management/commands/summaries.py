from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from directory.management.subcommands import SubcommandCommand
from directory.models import Org
from directory.summaries import summaries_due, summary_send


class Command(SubcommandCommand):
    help = "Send the hourly summary emails that are due now (for hours that have ended)."

    def add_subcommands(self, subparsers: Any) -> None:
        send = subparsers.add_parser("send", help="Send the due summaries now")
        send.add_argument("--org", help="only this org (slug)")
        send.set_defaults(handler=self.send)

    def send(self, org: str | None, **_: Any) -> None:
        only = self.org(org) if org else None
        due = summaries_due(org=only)
        if not due:
            self.say("No summaries are due.")
            return
        orgs = {o.pk: o for o in Org.objects.filter(pk__in={org_id for org_id, _ in due})}
        failed = 0
        for org_id, hour in due:
            label = f"{orgs[org_id].slug} {hour:%Y-%m-%d %H:00} UTC"
            try:
                sent = summary_send(org=orgs[org_id], hour=hour)
            except Exception as e:  # one mail server error must not stop the other orgs
                failed += 1
                self.stderr.write(f"{label}: not sent, {e}")
                continue
            self.say(
                f"{label}: "
                + (
                    f"sent to {sent} admin(s)"
                    if sent
                    else "nothing sent (no recipient, or already sent)"
                )
            )
        if failed:
            # The claims were released: the next run (or the hourly schedule) retries them.
            raise CommandError(f"{failed} of {len(due)} summaries could not be sent; run it again")
