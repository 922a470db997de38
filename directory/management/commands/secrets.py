from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from directory.encryption import DecryptionError, secrets_reencrypt
from directory.management.subcommands import SubcommandCommand


class Command(SubcommandCommand):
    help = "Manage the secrets stored encrypted under FIELD_ENCRYPTION_KEYS."

    def add_subcommands(self, subparsers: Any) -> None:
        reencrypt = subparsers.add_parser(
            "reencrypt",
            help="Encrypt every stored secret with the first key, so older keys can be removed",
        )
        reencrypt.set_defaults(handler=self.reencrypt)

    def reencrypt(self, **_: Any) -> None:
        try:
            counts = secrets_reencrypt()
        except DecryptionError as e:
            raise CommandError(str(e)) from None
        total = sum(counts.values())
        detail = ", ".join(f"{label}: {n}" for label, n in counts.items())
        self.say(
            f"Re-encrypted {total} secret{'s' if total != 1 else ''} with the first key of "
            f"FIELD_ENCRYPTION_KEYS ({detail}). Keys after the first can now be removed."
        )
