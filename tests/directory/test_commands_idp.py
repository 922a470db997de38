from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from directory.models import IdentityProvider, Org


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_idp_configure_saves_the_provider_and_protocol(org: Org) -> None:
    out = run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    assert "Saved the identity provider of acme: Okta over SAML 2.0" in out
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.provider, idp.protocol, idp.is_saved) == ("okta", "saml", True)


def test_idp_configure_again_replaces_the_settings(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "oidc")
    out = run(
        "idp",
        "configure",
        "acme",
        "--provider",
        "entra",
        "--protocol",
        "oidc",
        "--issuer",
        "https://login.microsoftonline.com/t/v2.0",
    )
    assert "Microsoft Entra ID over OpenID Connect" in out
    idp = IdentityProvider.objects.get()
    assert (idp.provider, idp.protocol, idp.issuer) == (
        "entra",
        "oidc",
        "https://login.microsoftonline.com/t/v2.0",
    )


def test_idp_configure_touches_only_its_own_org(org: Org, other_org: Org) -> None:
    run("idp", "configure", "globex", "--provider", "other", "--protocol", "saml")
    assert not IdentityProvider.objects.filter(org=org).exists()
    assert IdentityProvider.objects.get(org=other_org).provider == "other"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("configure", "nope", "--provider", "okta", "--protocol", "saml"), "No org"),
        (("configure", "acme", "--provider", "google", "--protocol", "saml"), "invalid choice"),
        (("configure", "acme", "--provider", "okta", "--protocol", "ldap"), "invalid choice"),
        (("configure", "acme", "--protocol", "saml"), "required: --provider"),
        (("configure", "acme", "--provider", "okta"), "required: --protocol"),
    ],
)
def test_idp_configure_refuses_bad_input_and_saves_nothing(
    org: Org, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("idp", *args)
    assert not IdentityProvider.objects.exists()
