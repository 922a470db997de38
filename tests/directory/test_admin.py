"""The Django admin for operators: it shows the directory but does not rename or add
users and groups, move seat counters or write events behind the services' back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org, ScimDirectory
from directory.services import UserFields, group_create, user_create
from tests.actors import OPERATOR


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "ops@example.com", "x"))
    return client


def test_an_operator_cannot_rename_a_user_into_another_ones_name(
    operator: Client, org: Org
) -> None:
    user_create(org=org, fields=UserFields(user_name="strasse@acme.example"), actor=OPERATOR)
    other = user_create(org=org, fields=UserFields(user_name="other@acme.example"), actor=OPERATOR)
    url = f"/admin/directory/enduser/{other.pk}/change/"
    page = operator.get(url)
    assert page.status_code == 200
    assert 'name="user_name"' not in page.content.decode()  # shown, not editable
    form: dict[str, Any] = {
        "user_name": "STRASSE@acme.example",
        "org": org.pk,
        "source": other.source,
        "active": "on",
        "access": other.access,
        "seat_requested_at_0": "",
        "seat_requested_at_1": "",
    }
    r = operator.post(url, form)
    assert r.status_code in (200, 302)
    other.refresh_from_db()
    assert other.user_name == "other@acme.example"


def test_an_operator_cannot_add_users_or_groups_in_the_admin(operator: Client, org: Org) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    assert operator.get("/admin/directory/enduser/add/").status_code == 403
    assert operator.get("/admin/directory/group/add/").status_code == 403
    listing = operator.get("/admin/directory/group/").content.decode()
    assert "Engineering" in listing and "/admin/directory/group/add/" not in listing


def test_seat_counters_and_records_are_not_edited_in_the_admin(operator: Client, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    org_page = operator.get(f"/admin/directory/org/{org.pk}/change/").content.decode()
    assert 'name="seats"' in org_page and 'name="seats_used"' not in org_page
    user_page = operator.get(f"/admin/directory/enduser/{user.pk}/change/").content.decode()
    assert 'name="has_seat"' not in user_page
    event = org.events.first()
    assert event is not None  # the create's event
    assert operator.get("/admin/directory/provisioningevent/add/").status_code == 403
    shown = operator.get(f"/admin/directory/provisioningevent/{event.pk}/change/")
    assert shown.status_code == 200 and 'name="message"' not in shown.content.decode()
    assert operator.get("/admin/directory/summarylog/add/").status_code == 403


def _org_form(org: Org, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "slug": org.slug,
        "name": org.name,
        "seats": org.seats,
        "scim_rate_limit": "",
        "deprovision": org.deprovision,
        "access_groups": [str(pk) for pk in org.access_groups.values_list("pk", flat=True)],
        "admins-TOTAL_FORMS": "0",
        "admins-INITIAL_FORMS": "0",
        "admins-MIN_NUM_FORMS": "0",
        "admins-MAX_NUM_FORMS": "1000",
    }
    return form | changes


def test_an_operator_sets_the_orgs_policies_through_the_services(
    operator: Client, org: Org, other_org: Org
) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    a = group_create(org=org, display_name="A", member_ids=[str(ada.id)], actor=OPERATOR)
    b = group_create(org=org, display_name="B", actor=OPERATOR)
    theirs = group_create(org=other_org, display_name="Theirs", actor=OPERATOR)
    url = f"/admin/directory/org/{org.pk}/change/"
    page = operator.get(url).content.decode()
    assert 'name="deprovision"' in page and 'name="access_groups"' in page
    assert "Theirs" not in page  # only the org's own groups to choose from

    r = operator.post(url, _org_form(org, access_groups=[str(theirs.pk)]))
    assert r.status_code == 200 and not org.access_groups.exists()  # refused
    r = operator.post(
        url, _org_form(org, deprovision="delete", access_groups=[str(a.pk), str(b.pk)])
    )
    assert r.status_code == 302, r.content
    org.refresh_from_db()
    assert org.deprovision == "delete"
    assert set(org.access_groups.all()) == {a, b}
    marked = set(org.users.exclude(access="").values_list("user_name", flat=True))
    assert marked == {"bob@acme.example"}  # the marks followed at once

    operator.post(url, _org_form(org, access_groups=[]))
    assert not org.users.exclude(access="").exists()
    operator.post(url, _org_form(org, name="Acme Inc"))  # the policies unchanged: no entry
    trail = org.audit_events.order_by("id").values_list("action", "target", "via", "actor")
    assert list(trail) == [
        ("org.deprovision", "delete", "admin", "ops@example.com"),
        ("org.access_groups", "A, B", "admin", "ops@example.com"),
        ("org.access_groups", "(none)", "admin", "ops@example.com"),
    ]


def test_the_scim_directory_admin_no_longer_holds_the_orgs_policies(
    operator: Client, directory: ScimDirectory
) -> None:
    page = operator.get(f"/admin/directory/scimdirectory/{directory.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="deprovision"' not in html and 'name="access_groups"' not in html


def test_the_idp_is_shown_in_the_admin_without_its_secret_and_not_edited(
    operator: Client, org: Org
) -> None:
    from directory.models import IdentityProvider
    from directory.services import idp_configure

    idp = idp_configure(org=org, provider="entra", protocol="oidc", issuer="https://i.example",
                        client_id="cc", client_secret="never-shown", actor=OPERATOR)  # fmt: skip
    assert b"acme" in operator.get("/admin/directory/identityprovider/").content
    page = operator.get(f"/admin/directory/identityprovider/{idp.pk}/change/")
    assert page.status_code == 200 and b"https://i.example" in page.content
    assert b"never-shown" not in page.content and b'name="issuer"' not in page.content
    assert b"client_secret" not in page.content
    operator.post(f"/admin/directory/identityprovider/{idp.pk}/change/",
                  {"org": org.pk, "provider": "okta", "protocol": "saml"})  # fmt: skip
    assert IdentityProvider.objects.get(pk=idp.pk).protocol == "oidc"
    assert operator.get("/admin/directory/identityprovider/add/").status_code == 403


def test_operators_see_the_requests_to_unknown_directories_in_the_admin(
    org: Org, token: str
) -> None:
    url = f"/scim/v2/{uuid.uuid4()}/Users"
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(url).status_code == 401
    operator = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client = Client()
    client.force_login(operator)
    page = client.get("/admin/directory/scimrequest/").content.decode()
    assert url in page
