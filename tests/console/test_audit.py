from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from directory.models import AuditEvent, Org
from directory.services import group_create, idp_configure, scim_enable
from tests.actors import OPERATOR
from tokens.services import api_key_issue


def test_admin_actions_are_audited_with_who_when_where_and_how(
    org: Org, admin: User, other_admin: User
) -> None:
    console = Client(REMOTE_ADDR="10.1.2.3")
    console.force_login(admin)
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    console.post("/o/acme/settings/scim/", {"enabled": "on"})
    console.post("/o/acme/settings/tokens/", {"name": "Okta"})
    console.post("/o/acme/settings/deprovisioning/", {"deprovision": "delete", "confirmed": "on"})
    api = APIClient(REMOTE_ADDR="10.9.9.9")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_issue(user=admin).plaintext}")
    api.post("/api/v1/orgs/acme/scim/disable/")
    call_command("scim", "enable", "acme", stdout=StringIO())
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})

    trail = list(
        AuditEvent.objects.filter(org=org)
        .order_by("id")
        .values_list("action", "via", "actor", "ip")
    )
    assert [(a, v) for a, v, _, _ in trail] == [
        ("idp.configure", "cli"),  # the set-up above, by an operator
        ("scim.enable", "console"),
        ("token.issue", "console"),
        ("org.deprovision", "console"),
        ("scim.disable", "api"),
        ("scim.enable", "cli"),
        ("scim.delete", "console"),
    ]
    assert trail[1][2:] == ("alice@acme.example", "10.1.2.3")
    assert trail[4][2:] == ("alice@acme.example", "10.9.9.9")
    assert trail[5][2].startswith("operator ")

    page = console.get("/o/acme/settings/audit/").content.decode()
    assert "scim.delete" in page and "10.1.2.3" in page
    intruder = Client()
    intruder.force_login(other_admin)
    assert intruder.get("/o/acme/settings/audit/").status_code == 404


def test_access_group_and_name_rule_changes_in_the_console_are_audited(
    org: Org, admin: User
) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    group_create(org=org, display_name="Sales", actor=OPERATOR)
    console = Client(REMOTE_ADDR="10.1.2.3")
    console.force_login(admin)
    console.post("/o/acme/settings/access/", {"access_groups": ["Engineering", "Sales"]})
    console.post("/o/acme/settings/scim/name-rule/", {"reject_special_characters": "on"})
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    console.post("/o/acme/settings/access/", {})  # no SCIM directory needed
    console.post("/o/acme/settings/scim/name-rule/", {})  # the directory's: none now
    trail = list(
        AuditEvent.objects.filter(org=org, action__in=["org.access_groups", "scim.name_rule"])
        .order_by("id")
        .values_list("action", "target", "via", "actor", "ip")
    )
    admin_at = ("console", "alice@acme.example", "10.1.2.3")
    assert trail == [
        ("org.access_groups", "Engineering, Sales", *admin_at),
        ("scim.name_rule", "true", *admin_at),
        ("org.access_groups", "(none)", *admin_at),
    ]
    page = console.get("/o/acme/settings/audit/").content.decode()
    assert "org.access_groups" in page and "Engineering, Sales" in page
