from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from directory.management.subcommands import SubcommandCommand
from directory.models import IdentityProvider, Org
from directory.saml_metadata import MAX_METADATA_BYTES
from directory.selectors import idp_get
from directory.services import idp_configure, idp_jit_set
from directory.services.idp import idp_describe, sp_values

SAML_OPTIONS = {"metadata_file": "--metadata-file", "metadata_url": "--metadata-url",
                "idp_initiated": "--idp-initiated"}  # fmt: skip
OIDC_OPTIONS = {"issuer": "--issuer", "client_id": "--client-id",
                "client_secret_file": "--client-secret-file", "scopes": "--scopes",
                "username_claim": "--username-claim"}  # fmt: skip


def _read(path: str, *, what: str, limit: int) -> bytes:
    try:
        with Path(path).open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise CommandError(f"Cannot read the {what} {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise CommandError(f"The {what} {path} is larger than {limit:,} bytes")
    return data


class Command(SubcommandCommand):
    help = "Configure an org's end-user identity provider (SAML 2.0 or OpenID Connect)."

    def add_subcommands(self, subparsers: Any) -> None:
        configure = subparsers.add_parser(
            "configure",
            help="Save the org's IdP: a provider and a protocol (enough for SCIM), and for "
            "sign-in the SAML metadata or the OIDC issuer and client",
        )
        configure.add_argument("slug")
        configure.add_argument(
            "--provider", required=True, choices=IdentityProvider.Provider.values
        )
        configure.add_argument(
            "--protocol", required=True, choices=IdentityProvider.Protocol.values
        )
        saml = configure.add_argument_group("SAML 2.0 (left out: the saved metadata is kept)")
        metadata = saml.add_mutually_exclusive_group()
        metadata.add_argument("--metadata-file", metavar="PATH", help="the IdP's metadata XML")
        metadata.add_argument(
            "--metadata-url", metavar="URL", help="the IdP's metadata URL, fetched now"
        )
        saml.add_argument(
            "--idp-initiated",
            choices=["on", "off"],
            help="accept sign-ins started at the IdP (default off)",
        )
        oidc = configure.add_argument_group("OpenID Connect (left out: the saved value is kept)")
        oidc.add_argument("--issuer", metavar="URL", help="https URL of the OpenID provider")
        oidc.add_argument("--client-id", metavar="ID")
        oidc.add_argument(
            "--client-secret-file",
            metavar="PATH",
            help="a file holding the client secret (stored encrypted, never shown again)",
        )
        oidc.add_argument("--scopes", help='default "openid email profile"')
        oidc.add_argument(
            "--username-claim",
            choices=IdentityProvider.UsernameClaim.values,
            help="the claim matched to userName (default email)",
        )
        configure.set_defaults(handler=self.configure)

        show = subparsers.add_parser("show", help="Show the org's IdP and what to paste into it")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true", dest="as_json", help="one JSON object")
        show.set_defaults(handler=self.show)

        jit = subparsers.add_parser(
            "jit", help="Create unknown users at their first sign-in (only while SCIM is off)"
        )
        jit.add_argument("slug")
        jit.add_argument("state", choices=["on", "off"])
        jit.set_defaults(handler=self.jit)

    def configure(self, slug: str, provider: str, protocol: str, **options: Any) -> None:
        org = self.org(slug)
        wrong = OIDC_OPTIONS if protocol == IdentityProvider.Protocol.SAML else SAML_OPTIONS
        given = [flag for name, flag in wrong.items() if options.get(name) is not None]
        if given:
            raise CommandError(f"Not for --protocol {protocol}: {', '.join(given)}")
        settings: dict[str, Any] = {}
        if protocol == IdentityProvider.Protocol.SAML:
            if options["metadata_file"] is not None:
                settings["metadata_xml"] = _read(
                    options["metadata_file"], what="metadata file", limit=MAX_METADATA_BYTES
                )
            if options["metadata_url"] is not None:
                settings["metadata_url"] = options["metadata_url"]
            if options["idp_initiated"] is not None:
                settings["idp_initiated"] = options["idp_initiated"] == "on"
        else:
            for name in ("issuer", "client_id", "scopes", "username_claim"):
                if options[name] is not None:
                    settings[name] = options[name]
            if options["client_secret_file"] is not None:
                raw = _read(options["client_secret_file"], what="client secret file", limit=2000)
                try:
                    secret = raw.decode().strip()
                except UnicodeDecodeError:
                    raise CommandError("The client secret file is not UTF-8 text") from None
                if not secret:
                    raise CommandError("The client secret file is empty")
                settings["client_secret"] = secret
        idp = idp_configure(
            org=org, provider=provider, protocol=protocol, actor=self.actor, **settings
        )
        self.say(
            f"Saved the identity provider of {slug}: "
            f"{idp.get_provider_display()} over {idp.get_protocol_display()}"
        )
        self._report(org, idp)

    def _report(self, org: Org, idp: IdentityProvider) -> None:
        view = idp_describe(idp=idp)
        if idp.protocol == IdentityProvider.Protocol.SAML:
            self.say(f"IdP entity ID: {idp.entity_id or '-'}")
            self.say(f"IdP SSO URL: {idp.sso_url or '-'}")
            if idp.metadata_url:
                self.say(f"Metadata from: {idp.metadata_url}")
            for cert in view["certificates"]:
                self.say(f"Certificate: SHA-256 {cert['sha256']}, expires {cert['not_after']}")
            self.say(f"IdP-initiated sign-in: {'on' if idp.idp_initiated else 'off'}")
        else:
            self.say(f"Issuer: {idp.issuer or '-'}")
            self.say(f"Client ID: {idp.client_id or '-'}")
            self.say(f"Client secret: {'set (not shown)' if idp.client_secret else 'not set'}")
            self.say(f"Scopes: {idp.scopes}")
            self.say(f"Username claim: {idp.username_claim}")
        self.say(f"Just-in-time users: {'on' if idp.jit else 'off'}")
        if idp.signin_ready:
            self.say("Sign-in: ready")
        elif idp.protocol == IdentityProvider.Protocol.SAML:
            self.say("Sign-in: not set up (give --metadata-file or --metadata-url)")
        else:
            self.say("Sign-in: not set up (give --issuer and --client-id)")
        self.say("For the IdP:")
        sp = sp_values(org=org)
        self.say(f"  Sign-in URL: {sp.signin_url}")
        if idp.protocol == IdentityProvider.Protocol.SAML:
            self.say(f"  SP entity ID (audience): {sp.entity_id}")
            self.say(f"  ACS URL (single sign-on / reply URL): {sp.acs_url}")
            self.say(f"  SP metadata URL: {sp.metadata_url}")
        else:
            self.say(f"  Redirect URI: {sp.oidc_redirect_uri}")

    def _idp(self, org: Org) -> IdentityProvider:
        idp = idp_get(org=org)
        if idp is None or not idp.is_saved:
            raise CommandError(f"No identity provider is saved for {org.slug}")
        return idp

    def show(self, slug: str, as_json: bool, **_: Any) -> None:
        org = self.org(slug)
        idp = self._idp(org)
        if as_json:
            self.say(json.dumps(idp_describe(idp=idp)))
            return
        self.say(
            f"{slug}: {idp.get_provider_display()} over {idp.get_protocol_display()}, "
            f"saved {idp.saved_at:%Y-%m-%d %H:%M} UTC"
        )
        self._report(org, idp)

    def jit(self, slug: str, state: str, **_: Any) -> None:
        idp_jit_set(org=self.org(slug), enabled=state == "on", actor=self.actor)
        if state == "on":
            self.say(
                f"Just-in-time users are on for {slug}: an unknown user who signs in is "
                "created (only while SCIM provisioning is off)"
            )
        else:
            self.say(f"Just-in-time users are off for {slug}: unknown users are refused")
