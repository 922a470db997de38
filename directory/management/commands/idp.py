from __future__ import annotations

from typing import Any

from directory.management.subcommands import SubcommandCommand
from directory.models import IdentityProvider
from directory.services import idp_configure


class Command(SubcommandCommand):
    help = "Configure an org's end-user identity provider."

    def add_subcommands(self, subparsers: Any) -> None:
        configure = subparsers.add_parser("configure", help="Save the org's IdP settings")
        configure.add_argument("slug")
        configure.add_argument(
            "--provider", required=True, choices=IdentityProvider.Provider.values
        )
        configure.add_argument(
            "--protocol", required=True, choices=IdentityProvider.Protocol.values
        )
        configure.add_argument("--sso-url", default="")
        configure.add_argument("--entity-id", default="")
        configure.add_argument("--issuer", default="")
        configure.add_argument("--client-id", default="")
        configure.set_defaults(handler=self.configure)

    def configure(
        self,
        slug: str,
        provider: str,
        protocol: str,
        sso_url: str,
        entity_id: str,
        issuer: str,
        client_id: str,
        **_: Any,
    ) -> None:
        idp = idp_configure(
            org=self.org(slug),
            provider=provider,
            protocol=protocol,
            sso_url=sso_url,
            entity_id=entity_id,
            issuer=issuer,
            client_id=client_id,
            actor=self.actor,
        )
        self.say(
            f"Saved the identity provider of {slug}: "
            f"{idp.get_provider_display()} over {idp.get_protocol_display()}"
        )
