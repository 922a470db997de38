from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from directory.models import AuditEvent, Org, ScimDirectory
from directory.services import (
    UserFields,
    event_record,
    group_create,
    idp_configure,
    org_admin_add,
    scim_enable,
    user_create,
)
from tests.actors import OPERATOR
from tokens.models import ScimToken
from tokens.services import api_key_issue, api_key_revoke


def client_for(user: User, read_only: bool = False) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_issue(user=user, read_only=read_only).plaintext}"
    )
    return client


@pytest.fixture
def api(admin: User) -> APIClient:
    return client_for(admin)


@pytest.fixture
def ready(org: Org) -> ScimDirectory:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    return scim_enable(org=org, actor=OPERATOR)


def test_it_needs_a_key_or_a_session(org: Org) -> None:
    r = APIClient().get("/api/v1/orgs/")
    assert r.status_code in (401, 403)
    assert r.json()["error"]["code"] in ("not_authenticated", "authentication_failed")
    r = APIClient(HTTP_AUTHORIZATION="Bearer ccapi_nope").get("/api/v1/orgs/")
    assert r.status_code == 401 and "not valid" in r.json()["error"]["message"]


def test_a_revoked_key_is_refused_at_once(admin: User, org: Org) -> None:
    issued = api_key_issue(user=admin)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    assert client.get("/api/v1/orgs/").status_code == 200
    api_key_revoke(user=admin, key_id=str(issued.key.id))
    assert client.get("/api/v1/orgs/").status_code == 401


def test_orgs_lists_only_the_callers_orgs(api: APIClient, org: Org, other_org: Org) -> None:
    assert [o["slug"] for o in api.get("/api/v1/orgs/").json()] == ["acme"]


def test_scim_setup_over_the_api_mirrors_the_console(api: APIClient, org: Org) -> None:
    r = api.post("/api/v1/orgs/acme/scim/enable/")
    assert r.status_code == 409
    message = "Configure and save the org's end-user identity provider before enabling SCIM"
    assert r.json() == {"error": {"code": "precondition", "message": message, "field": None}}
    api.put("/api/v1/orgs/acme/idp/", {"provider": "okta", "protocol": "oidc"}, format="json")
    assert (
        "convert the connection to SAML first"
        in api.post("/api/v1/orgs/acme/scim/enable/").json()["error"]["message"]
    )
    api.put("/api/v1/orgs/acme/idp/", {"provider": "okta", "protocol": "saml"}, format="json")
    doc = api.post("/api/v1/orgs/acme/scim/enable/").json()
    assert doc["enabled"] is True and doc["base_url"].endswith(f"/scim/v2/{doc['id']}")
    r = api.patch("/api/v1/orgs/acme/", {"deprovision": "delete"}, format="json")
    assert r.json()["deprovision"] == "delete"
    assert api.post("/api/v1/orgs/acme/scim/disable/").json()["enabled"] is False


def test_the_orgs_policies_are_set_over_the_api_and_outlive_its_directory(
    api: APIClient, org: Org, ready: ScimDirectory
) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="A", member_ids=[str(ada.id)], actor=OPERATOR)
    group_create(org=org, display_name="B", actor=OPERATOR)

    def marked() -> list[str]:
        page = api.get("/api/v1/orgs/acme/users/?seat=access").json()
        return [u["user_name"] for u in page["results"]]

    r = api.patch(
        "/api/v1/orgs/acme/", {"deprovision": "delete", "access_groups": ["a", "B"]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert (r.json()["deprovision"], r.json()["access_groups"]) == ("delete", ["A", "B"])
    assert marked() == ["bob@acme.example"]
    assert api.delete("/api/v1/orgs/acme/scim/").status_code == 204
    doc = api.get("/api/v1/orgs/acme/").json()
    assert (doc["deprovision"], doc["access_groups"]) == ("delete", ["A", "B"])
    assert marked() == ["bob@acme.example"]
    r = api.patch("/api/v1/orgs/acme/", {"access_groups": ["A", "Nope"]}, format="json")
    assert r.status_code == 400 and r.json()["error"]["field"] == "access_groups"
    r = api.patch("/api/v1/orgs/acme/", {"access_groups": []}, format="json")
    assert r.json()["access_groups"] == [] and marked() == []
    assert api.post("/api/v1/orgs/acme/scim/enable/").status_code == 200
    assert api.get("/api/v1/orgs/acme/").json()["deprovision"] == "delete"
    trail = AuditEvent.objects.filter(org=org, action__startswith="org.").order_by("id")
    assert list(trail.values_list("action", "target", "via", "actor")) == [
        ("org.deprovision", "delete", "api", "alice@acme.example"),
        ("org.access_groups", "A, B", "api", "alice@acme.example"),
        ("org.access_groups", "(none)", "api", "alice@acme.example"),
    ]


def test_an_idempotency_key_is_the_admins_for_one_org_only(
    api: APIClient, ready: ScimDirectory, admin: User, other_org: Org
) -> None:
    # Alice administers both orgs and retries with the same key, as a script would.
    org_admin_add(org=other_org, email=admin.email)
    idp_configure(org=other_org, provider="entra", protocol="oidc", actor=OPERATOR)
    other = scim_enable(org=other_org, actor=OPERATOR)

    def issue(slug: str) -> Any:
        url = f"/api/v1/orgs/{slug}/scim/tokens/"
        return api.post(url, {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")

    first = issue("acme")
    second = issue("globex")
    assert second.status_code == 201, second.content
    assert second.json()["token"].startswith("ccscim_")
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["base_url"] == other.base_url
    assert ScimToken.objects.filter(directory=other).count() == 1
    # A retry on each org replays that org's own token.
    assert issue("globex").json()["id"] == second.json()["id"]
    assert issue("acme").json()["id"] == first.json()["id"]
    assert ScimToken.objects.count() == 2


def test_token_issue_shows_the_plaintext_once_and_honours_idempotency(
    api: APIClient, ready: ScimDirectory
) -> None:
    first = api.post(
        "/api/v1/orgs/acme/scim/tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201 and first.json()["token"].startswith("ccscim_")
    again = api.post(
        "/api/v1/orgs/acme/scim/tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["token"] is None
    assert ScimToken.objects.count() == 1
    api.post("/api/v1/orgs/acme/scim/tokens/", {}, format="json")
    third = api.post("/api/v1/orgs/acme/scim/tokens/", {}, format="json")
    assert (
        third.status_code == 409
        and "at most 2 active API tokens" in third.json()["error"]["message"]
    )
    listing = api.get("/api/v1/orgs/acme/scim/tokens/").json()
    assert len(listing) == 2 and all("token" not in t for t in listing)
    revoked = api.post(f"/api/v1/orgs/acme/scim/tokens/{first.json()['id']}/revoke/").json()
    assert revoked["revoked_at"] is not None


def test_users_groups_seats_and_events(api: APIClient, org: Org, ready: ScimDirectory) -> None:
    created = api.post(
        "/api/v1/orgs/acme/users/",
        {"user_name": "ada@acme.example", "given_name": "Ada"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["source"] == "manual"
    uid = created.json()["id"]
    dup = api.post("/api/v1/orgs/acme/users/", {"user_name": "ADA@acme.example"}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "userName"
    bad = api.post("/api/v1/orgs/acme/users/", {"user_name": "not-an-email"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "user_name"
    assert api.get("/api/v1/orgs/acme/users/?q=ada").json()["count"] == 1
    assert (
        api.post(f"/api/v1/orgs/acme/users/{uid}/seat/", {"seat": False}, format="json").json()[
            "has_seat"
        ]
        is False
    )
    group = api.post("/api/v1/orgs/acme/groups/", {"display_name": "Eng"}, format="json").json()
    assert api.get(f"/api/v1/orgs/acme/groups/{group['id']}/").json()["display_name"] == "Eng"
    created_by = org.events.filter(action__in=["user_create", "group_create"])
    assert set(created_by.values_list("client", flat=True)) == {"api: alice@acme.example"}
    event_record(
        org=org,
        action="user_create",
        outcome="failure",
        message="boom",
        status_code=409,
        actor=OPERATOR,
    )
    failed = api.get("/api/v1/orgs/acme/events/?outcome=failure").json()
    assert [e["message"] for e in failed["results"]] == ["boom"]
    assert "next" in failed and "previous" in failed
    assert api.delete(f"/api/v1/orgs/acme/users/{uid}/").status_code == 204
    assert org.users.count() == 0


def test_events_are_paged_by_cursor_newest_first(api: APIClient, org: Org) -> None:
    for i in range(150):
        event_record(
            org=org, action="user_update", outcome="success", resource_name=f"u{i}", actor=OPERATOR
        )
    page = api.get("/api/v1/orgs/acme/events/").json()
    assert len(page["results"]) == 100 and page["results"][0]["resource_name"] == "u149"
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 50 and rest["next"] is None


def test_summary_preference(api: APIClient, org: Org) -> None:
    assert api.get("/api/v1/orgs/acme/me/summaries/").json() == {"summary_emails": True}
    api.put("/api/v1/orgs/acme/me/summaries/", {"summary_emails": False}, format="json")
    assert org.admins.get().summary_emails is False


def test_a_read_only_key_reads_but_cannot_write(
    admin: User, org: Org, ready: ScimDirectory
) -> None:
    client = client_for(admin, read_only=True)
    assert client.get("/api/v1/orgs/acme/scim/").status_code == 200
    r = client.post("/api/v1/orgs/acme/scim/tokens/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["message"] == "This API key is read-only."
    assert client.delete("/api/v1/orgs/acme/scim/").status_code == 403
    assert ScimToken.objects.count() == 0 and ScimDirectory.objects.get().deleted_at is None


def test_another_orgs_admin_gets_404_everywhere(
    other_admin: User, org: Org, ready: ScimDirectory
) -> None:
    intruder = client_for(other_admin)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group = group_create(org=org, display_name="Eng", actor=OPERATOR)
    paths = [
        "/api/v1/orgs/acme/", "/api/v1/orgs/acme/idp/", "/api/v1/orgs/acme/scim/",
        "/api/v1/orgs/acme/scim/tokens/", "/api/v1/orgs/acme/users/",
        f"/api/v1/orgs/acme/users/{ada.id}/", "/api/v1/orgs/acme/groups/",
        f"/api/v1/orgs/acme/groups/{group.id}/", "/api/v1/orgs/acme/events/",
        "/api/v1/orgs/acme/me/summaries/",
    ]  # fmt: skip
    for path in paths:
        assert intruder.get(path).status_code == 404, path
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("patch", "/api/v1/orgs/acme/", {"name": "Pwned"}),
        ("put", "/api/v1/orgs/acme/idp/", {"provider": "other", "protocol": "oidc"}),
        ("post", "/api/v1/orgs/acme/scim/disable/", {}),
        ("patch", "/api/v1/orgs/acme/", {"deprovision": "delete", "access_groups": ["Eng"]}),
        ("patch", "/api/v1/orgs/acme/scim/", {"reject_special_characters": True}),
        ("delete", "/api/v1/orgs/acme/scim/", {}),
        ("post", "/api/v1/orgs/acme/scim/tokens/", {}),
        ("post", "/api/v1/orgs/acme/users/", {"user_name": "x@y.example"}),
        ("delete", f"/api/v1/orgs/acme/users/{ada.id}/", {}),
        ("post", f"/api/v1/orgs/acme/users/{ada.id}/seat/", {"seat": False}),
        ("post", "/api/v1/orgs/acme/groups/", {"display_name": "X"}),
    ]
    for method, path, body in writes:
        assert getattr(intruder, method)(path, body, format="json").status_code == 404, path
    ready.refresh_from_db()
    assert ready.enabled and ready.deleted_at is None
    assert org.users.count() == 1 and org.groups.count() == 1 and ScimToken.objects.count() == 0
    org.refresh_from_db()
    assert org.name == "Acme Corp" and org.deprovision == "disable"
    assert not org.access_groups.exists()


def test_the_api_and_the_console_give_the_same_result(admin: User, org: Org) -> None:
    from django.test import Client

    console = Client()
    console.force_login(admin)
    api = client_for(admin)
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    console.post("/o/acme/settings/scim/", {"enabled": "on"})
    by_console = ScimDirectory.objects.get()
    api_view = api.get("/api/v1/orgs/acme/scim/").json()
    assert api_view["id"] == str(by_console.id) and api_view["enabled"] is True
    console.post("/o/acme/users/new/", {"user_name": "c@acme.example"})
    api.post("/api/v1/orgs/acme/users/", {"user_name": "a@acme.example"}, format="json")
    users = {u.user_name: u for u in org.users.all()}
    assert users["c@acme.example"].source == users["a@acme.example"].source == "manual"
    assert users["c@acme.example"].has_seat == users["a@acme.example"].has_seat is True
    api.post("/api/v1/orgs/acme/scim/disable/")
    assert b"SCIM provisioning is <strong>off" in console.get("/o/acme/settings/").content


def test_the_openapi_schema_and_docs_are_served(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/orgs/{slug}/scim/tokens/" in schema.json()["paths"]
    assert api.get("/api/v1/docs/").status_code == 200


def test_admins_create_and_revoke_their_keys_in_the_console(admin: User, other_admin: User) -> None:
    import re

    from django.test import Client

    console = Client()
    console.force_login(admin)
    page = console.post(
        "/account/api-keys/new/", {"name": "terraform", "read_only": "on"}
    ).content.decode()
    match = re.search(r'id="new-key-value" type="text" readonly value="([^"]+)"', page)
    assert match is not None
    key = admin.api_keys.get()
    assert key.read_only and key.name == "terraform"
    assert (
        APIClient(HTTP_AUTHORIZATION=f"Bearer {match.group(1)}").get("/api/v1/orgs/").status_code
        == 200
    )
    intruder = Client()
    intruder.force_login(other_admin)
    assert intruder.post(f"/account/api-keys/{key.id}/revoke/").status_code == 404
    console.post(f"/account/api-keys/{key.id}/revoke/")
    assert (
        APIClient(HTTP_AUTHORIZATION=f"Bearer {match.group(1)}").get("/api/v1/orgs/").status_code
        == 401
    )
