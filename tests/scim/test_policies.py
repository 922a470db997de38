"""The directory policies of issue 6, driven through SCIM as Okta and Entra send it."""

from __future__ import annotations

from django.core import mail

from directory.models import Org, ScimDirectory
from directory.services import (
    group_create,
    org_deprovision_set,
    org_update,
    scim_directory_delete,
    scim_enable,
    scim_name_rule_set,
)
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.services import token_issue


def test_deactivation_under_the_delete_policy_removes_the_user_and_frees_its_seat(
    scim: ScimClient, org: Org
) -> None:
    org_update(org=org, seats=1)
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    first = scim.post("/Users", okta_user("first@acme.example")).json()
    second = scim.post("/Users", okta_user("second@acme.example")).json()
    r = scim.patch_ops(f"/Users/{first['id']}", {"op": "replace", "value": {"active": False}})
    assert r.status_code == 204
    assert_scim_error(scim.get(f"/Users/{first['id']}"), 404)
    assert_scim_error(scim.put(f"/Users/{first['id']}", first), 404)
    waiting = org.users.get()
    assert str(waiting.id) == second["id"] and waiting.has_seat
    event = org.events.get(action="user_delete")
    assert "deprovisioning policy" in event.message
    assert mail.outbox == []


def test_entra_put_deactivation_under_the_delete_policy_answers_the_last_state(
    scim: ScimClient, org: Org
) -> None:
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    created = scim.post("/Users", okta_user("put@acme.example")).json()
    r = scim.put(f"/Users/{created['id']}", {**created, "active": False})
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert org.users.count() == 0


def test_deleting_the_directory_keeps_users_and_groups_as_manual(
    scim: ScimClient, org: Org, directory: ScimDirectory
) -> None:
    user = scim.post("/Users", okta_user("stay@acme.example")).json()
    scim.post("/Groups", {"displayName": "Stays", "members": [{"value": user["id"]}]})
    scim_directory_delete(org=org, actor=OPERATOR)
    assert_scim_error(scim.get("/Users"), 401)
    kept = org.users.get()
    assert kept.source == "manual" and kept.directory_id is None
    group = org.groups.get()
    assert group.source == "manual" and list(group.members.all()) == [kept]
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 0


def test_a_new_directory_links_existing_users_found_by_username(scim: ScimClient, org: Org) -> None:
    old = scim.post("/Users", okta_user("again@acme.example")).json()
    scim_directory_delete(org=org, actor=OPERATOR)
    new_directory = scim_enable(org=org, actor=OPERATOR)
    assert str(new_directory.id) not in scim.base
    new = ScimClient(new_directory, token_issue(directory=new_directory).plaintext)
    found = new.get('/Users?filter=userName eq "again@acme.example"').json()["Resources"]
    assert [u["id"] for u in found] == [old["id"]]
    r = new.put(f"/Users/{old['id']}", {**found[0], "title": "Back"})
    assert r.status_code == 200
    user = org.users.get()
    assert user.directory_id == new_directory.id and user.source == "scim"
    # The group takes over likewise, by name.
    group_create(org=org, display_name="Legacy", actor=OPERATOR)
    taken = new.post("/Groups", {"displayName": "Legacy"})
    assert taken.status_code == 201


def test_the_optional_name_rule_refuses_special_characters_naming_the_field(
    scim: ScimClient, org: Org
) -> None:
    assert (
        scim.post("/Users", okta_user("ok1@acme.example", given="Zoë-Anne (Jo)")).status_code == 201
    )
    scim_name_rule_set(org=org, enabled=True, actor=OPERATOR)
    body = assert_scim_error(
        scim.post("/Users", okta_user("bad@acme.example", family="Smith#1")), 400, "invalidValue"
    )
    assert "name.familyName" in body["detail"]
    assert (
        scim.post(
            "/Users", okta_user("ok2@acme.example", given="Łukasz O'Brien", family="李 Jr.")
        ).status_code
        == 201
    )
    assert not org.users.filter(user_name="bad@acme.example").exists()


def _summary_after(org: Org, django_capture_on_commit_callbacks: object) -> str:
    """The summary email the hour's events produce, as its admins would get it."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from directory.services import org_admin_add
    from directory.tasks import summaries_dispatch as summaries_dispatch_task

    org_admin_add(org=org, email="alice@acme.example")
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            summaries_dispatch_task()
    return str(mail.outbox[-1].body)


def test_users_beyond_the_seats_are_provisioned_without_one_and_reported(
    scim: ScimClient, org: Org, django_capture_on_commit_callbacks: object
) -> None:
    org_update(org=org, seats=1)
    first = scim.post("/Users", okta_user("one@acme.example")).json()
    assert scim.post("/Users", okta_user("two@acme.example")).status_code == 201
    assert dict(org.users.values_list("user_name", "has_seat")) == {
        "one@acme.example": True,
        "two@acme.example": False,
    }
    assert org.events.get(resource_name="two@acme.example").message == "No seat left for this user"
    # Okta deactivates the first user: the waiting one gets the seat.
    scim.patch_ops(f"/Users/{first['id']}", {"op": "replace", "value": {"active": False}})
    assert dict(org.users.values_list("user_name", "has_seat")) == {
        "one@acme.example": False,
        "two@acme.example": True,
    }
    body = _summary_after(org, django_capture_on_commit_callbacks)
    assert "1 user provisioned without a seat" in body
    assert "one@acme.example" in body  # among the users disabled


def test_a_group_push_into_an_allowed_group_clears_not_in_access_groups(
    scim: ScimClient, org: Org, django_capture_on_commit_callbacks: object
) -> None:
    from directory.services import org_access_groups_set

    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    user = scim.post("/Users", okta_user("new@acme.example")).json()
    assert org.users.get().access == "NOT_IN_ACCESS_GROUPS"
    assert "NOT_IN_ACCESS_GROUPS" in org.events.get(action="user_create").message
    # Okta pushes the group: it takes the console group over and adds the member.
    pushed = scim.post("/Groups", {"displayName": "Engineering", "members": []}).json()
    scim.patch_ops(
        f"/Groups/{pushed['id']}",
        {
            "op": "add",
            "path": "members",
            "value": [{"value": user["id"], "display": "new@acme.example"}],
        },
    )
    assert org.users.get().access == ""
    # Entra removes the member again: the mark comes back.
    scim.patch_ops(
        f"/Groups/{pushed['id']}",
        {"op": "Remove", "path": "members", "value": [{"value": user["id"]}]},
    )
    assert org.users.get().access == "NOT_IN_ACCESS_GROUPS"
    body = _summary_after(org, django_capture_on_commit_callbacks)
    assert "1 user provisioned outside the access groups" in body


def test_access_groups_set_while_a_token_is_cached_apply_to_the_next_create(
    scim: ScimClient, org: Org
) -> None:
    from directory.services import org_access_groups_set

    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    # The token (with the org's access groups, none yet, kept on its directory) is
    # authenticated, and with Redis cached, before the admin restricts access.
    assert scim.post("/Users", okta_user("before@acme.example")).status_code == 201
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    assert scim.post("/Users", okta_user("after@acme.example")).status_code == 201
    assert org.users.get(user_name="after@acme.example").access == "NOT_IN_ACCESS_GROUPS"
    org_access_groups_set(org=org, names=[], actor=OPERATOR)
    assert scim.post("/Users", okta_user("lifted@acme.example")).status_code == 201
    assert org.users.get(user_name="lifted@acme.example").access == ""


def test_deleting_the_only_access_group_lifts_the_restriction(scim: ScimClient, org: Org) -> None:
    from directory.services import org_access_groups_set

    pushed = scim.post("/Groups", {"displayName": "Engineering", "members": []}).json()
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    assert scim.post("/Users", okta_user("one@acme.example")).status_code == 201
    assert org.users.get().access == "NOT_IN_ACCESS_GROUPS"
    assert scim.delete(f"/Groups/{pushed['id']}").status_code == 204
    # No access group is left: nobody is restricted, old users and new ones alike.
    assert org.users.get().access == ""
    assert scim.post("/Users", okta_user("two@acme.example")).status_code == 201
    assert org.users.get(user_name="two@acme.example").access == ""


def test_a_directory_enabled_again_works_under_the_orgs_policies(
    scim: ScimClient, org: Org
) -> None:
    from directory.services import org_access_groups_set

    group_create(org=org, display_name="A", actor=OPERATOR)
    group_create(org=org, display_name="B", actor=OPERATOR)
    org_access_groups_set(org=org, names=["A", "B"], actor=OPERATOR)
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    scim_directory_delete(org=org, actor=OPERATOR)
    again = scim_enable(org=org, actor=OPERATOR)
    idp = ScimClient(again, token_issue(directory=again).plaintext)
    user = idp.post("/Users", okta_user("new@acme.example")).json()
    assert org.users.get().access == "NOT_IN_ACCESS_GROUPS"
    assert idp.delete(f"/Users/{user['id']}").status_code == 204
    assert not org.users.exists()  # the "delete" policy, kept through the delete
