from __future__ import annotations

import uuid
from typing import Any

import pytest

from directory.models import EndUser, LdapDirectory, LdapSyncRun, Org, ProvisioningEvent
from directory.services import group_create, org_deprovision_set, user_add
from directory.services.ldap_directory import ldap_remove
from directory.services.ldap_sync import ldap_sync
from tests.actors import OPERATOR
from tests.conftest import free_port
from tests.ldap.conftest import configure
from tests.ldap_server import Tree


def _people(tree: Tree, n: int) -> list[str]:
    return [tree.add_user(f"user{i}", given=f"Given{i}", sn=f"Family{i}") for i in range(n)]


def test_it_syncs_users_over_several_pages(org: Org, ldap: LdapDirectory, ldap_tree: Tree) -> None:
    _people(ldap_tree, 5)
    ldap_tree.add_user(
        "ada", given="Ada", sn="Lovelace", title="Engineer", telephoneNumber="+1 555"
    )

    run = ldap_sync(org=org, trigger="test")

    assert run.status == LdapSyncRun.Status.SUCCESS, run.error
    assert run.totals["users_seen"] == 6  # three pages of two
    assert run.totals["created"] == 6
    assert run.duration_seconds is not None
    ada = org.users.get(user_name="ada@example.org")
    assert (ada.given_name, ada.family_name, ada.display_name) == (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert ada.title == "Engineer"
    assert ada.external_id == "ada"
    assert ada.emails == [{"value": "ada@example.org", "type": "work", "primary": True}]
    assert ada.phone_numbers[0]["value"] == "+1 555"
    assert ada.source == "ldap"
    assert uuid.UUID(ada.ldap_id or "")  # slapd's entryUUID
    assert ada.has_seat
    event = org.events.get(resource_id=ada.id)
    assert event.action == ProvisioningEvent.Action.USER_CREATE
    assert event.client == f"ldap: {ldap.url}"


def test_a_second_run_writes_nothing_when_nothing_changed(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    _people(ldap_tree, 3)
    ldap_sync(org=org)
    events = org.events.count()
    versions = sorted(org.users.values_list("version", flat=True))

    run = ldap_sync(org=org)

    assert run.totals | {"users_seen": 0} == {
        "users_seen": 0, "created": 0, "updated": 0, "disabled": 0, "deleted": 0,
        "skipped": 0, "failed": 0, "groups_seen": 0, "groups_created": 0,
        "groups_updated": 0, "groups_deleted": 0,
    }  # fmt: skip
    assert org.events.count() == events
    assert sorted(org.users.values_list("version", flat=True)) == versions


def test_a_renamed_entry_is_the_same_user_renamed(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    dn = ldap_tree.add_user("grace", given="Grace", sn="Hopper")
    ldap_sync(org=org)
    before = org.users.get()

    ldap_tree.rename(dn, "uid=grace.hopper")
    ldap_tree.modify(ldap_tree.user_dn("grace.hopper"), mail="grace.hopper@example.org")
    run = ldap_sync(org=org)

    assert run.totals["updated"] == 1 and run.totals["created"] == 0
    after = org.users.get()
    assert after.id == before.id
    assert after.user_name == "grace.hopper@example.org"
    assert after.external_id == "grace.hopper"
    event = org.events.filter(resource_id=after.id).latest("id")
    assert event.details["userName"] == {
        "old": "grace@example.org",
        "new": "grace.hopper@example.org",
    }


def test_a_user_gone_from_ldap_is_disabled_under_the_disable_policy(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    dns = _people(ldap_tree, 3)
    ldap_sync(org=org)
    ldap_tree.delete(dns[0])

    run = ldap_sync(org=org)

    assert run.totals["disabled"] == 1
    gone = org.users.get(user_name="user0@example.org")
    assert not gone.active and gone.removed_by_idp_at is not None and not gone.has_seat
    assert org.users.filter(active=True).count() == 2
    event = org.events.filter(resource_id=gone.id).latest("id")
    assert event.outcome == ProvisioningEvent.Outcome.DISABLED
    assert "Deleted by LDAP" in event.message
    # A later run leaves it as it is.
    assert ldap_sync(org=org).totals["disabled"] == 0


def test_a_user_gone_from_ldap_is_deleted_under_the_delete_policy(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    dns = _people(ldap_tree, 3)
    ldap_sync(org=org)
    org.refresh_from_db()
    assert org.seats_used == 3
    ldap_tree.delete(dns[1])

    run = ldap_sync(org=org)

    assert run.totals["deleted"] == 1
    assert not org.users.filter(user_name="user1@example.org").exists()
    org.refresh_from_db()
    assert org.seats_used == 2


def test_a_user_the_filter_leaves_out_is_disabled_and_comes_back_when_it_matches_again(
    org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree, user_filter="(&(objectClass=inetOrgPerson)(!(description=disabled)))")
    dns = _people(ldap_tree, 2)
    ldap_sync(org=org)
    user = org.users.get(user_name="user0@example.org")

    ldap_tree.modify(dns[0], description="disabled")
    assert ldap_sync(org=org).totals["disabled"] == 1
    user.refresh_from_db()
    assert not user.active

    ldap_tree.modify(dns[0], description="back")
    run = ldap_sync(org=org)
    assert run.totals["updated"] == 1
    user.refresh_from_db()
    assert user.active and user.removed_by_idp_at is None and user.has_seat


def test_groups_and_memberships_are_mirrored(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    dns = _people(ldap_tree, 3)
    eng = ldap_tree.add_group("Engineering", [dns[0], dns[1]])
    ldap_tree.add_posix_group("unix", 5000, ["user2"])

    run = ldap_sync(org=org)

    assert run.totals["groups_created"] == 2
    engineering = org.groups.get(display_name="Engineering")
    assert engineering.source == "ldap"
    assert sorted(u.user_name for u in engineering.members.all()) == [
        "user0@example.org",
        "user1@example.org",
    ]
    assert [u.user_name for u in org.groups.get(display_name="unix").members.all()] == [
        "user2@example.org"
    ]

    ldap_tree.modify(eng, member=[dns[2]])
    ldap_tree.rename(eng, "cn=Platform")
    run = ldap_sync(org=org)
    assert run.totals["groups_updated"] == 1
    engineering.refresh_from_db()
    assert engineering.display_name == "Platform"
    assert [u.user_name for u in engineering.members.all()] == ["user2@example.org"]

    ldap_tree.delete(ldap_tree.group_dn("unix"))
    assert ldap_sync(org=org).totals["groups_deleted"] == 1
    assert not org.groups.filter(display_name="unix").exists()


def test_a_nested_group_is_refused_with_an_event(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    dns = _people(ldap_tree, 2)
    inner = ldap_tree.add_group("Inner", [dns[0]])
    ldap_tree.add_group("Outer", [dns[1], inner])

    run = ldap_sync(org=org)

    assert run.status == LdapSyncRun.Status.SUCCESS
    outer = org.groups.get(display_name="Outer")
    assert [u.user_name for u in outer.members.all()] == ["user1@example.org"]
    refusal = org.events.get(resource_id=outer.id, outcome=ProvisioningEvent.Outcome.FAILURE)
    assert refusal.message.startswith("Nested groups are not supported")
    assert inner in refusal.message
    # Said once, not every hour; again when the nested groups change.
    ldap_sync(org=org)
    assert org.events.filter(outcome=ProvisioningEvent.Outcome.FAILURE).count() == 1
    other = ldap_tree.add_group("Other", [dns[0]])
    ldap_tree.modify(ldap_tree.group_dn("Outer"), member=[dns[1], inner, other])
    ldap_sync(org=org)
    assert org.events.filter(outcome=ProvisioningEvent.Outcome.FAILURE).count() == 2


def test_wrong_credentials_fail_the_run_and_change_nothing(org: Org, ldap_tree: Tree) -> None:
    _people(ldap_tree, 2)
    configure(org, ldap_tree, bind_password="wrong")

    run = ldap_sync(org=org)

    assert run.status == LdapSyncRun.Status.FAILED
    assert "refused the bind DN and password" in run.error
    assert not org.users.exists()
    failure = org.events.get()
    assert failure.outcome == ProvisioningEvent.Outcome.FAILURE
    assert failure.message.startswith("LDAP sync failed: The server refused")


def test_an_unreachable_server_fails_the_run_and_deprovisions_nobody(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    _people(ldap_tree, 2)
    ldap_sync(org=org)
    configure(org, ldap_tree, url=f"ldap://127.0.0.1:{free_port()}")

    run = ldap_sync(org=org)

    assert run.status == LdapSyncRun.Status.FAILED
    assert run.error.startswith("Cannot reach ldap://127.0.0.1:")
    assert org.users.filter(active=True).count() == 2


def test_a_missing_base_dn_is_a_clear_error(org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree, user_base=f"ou=nobody,{ldap_tree.base}")
    run = ldap_sync(org=org)
    assert run.status == LdapSyncRun.Status.FAILED
    assert "does not exist on the server" in run.error


def test_a_user_search_that_finds_nothing_deprovisions_nobody(org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree)
    _people(ldap_tree, 2)
    ldap_sync(org=org)
    configure(org, ldap_tree, user_filter="(objectClass=posixAccount)")

    run = ldap_sync(org=org)

    assert run.totals["disabled"] == 0
    assert org.users.filter(active=True).count() == 2
    assert org.events.filter(message__startswith="The user search found no entries").exists()


def test_a_group_search_that_finds_nothing_deletes_no_group(org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree)
    ldap_tree.add_group("Staff", _people(ldap_tree, 1))
    ldap_sync(org=org)
    configure(org, ldap_tree, group_filter="(objectClass=posixGroup)")

    run = ldap_sync(org=org)

    assert run.totals["groups_deleted"] == 0
    assert org.groups.get().members.count() == 1
    assert org.events.filter(message__startswith="The group search found no entries").exists()


def test_a_manual_user_of_the_same_name_is_taken_over(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    manual = user_add(org=org, email="user0@example.org", actor=OPERATOR)
    _people(ldap_tree, 1)

    run = ldap_sync(org=org)

    assert run.totals["updated"] == 1 and run.totals["created"] == 0
    user = org.users.get()
    assert user.id == manual.id and user.source == "ldap" and user.given_name == "Given0"


def test_a_manual_group_of_the_same_name_is_taken_over(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    mine = group_create(org=org, display_name="Staff", actor=OPERATOR)
    dns = _people(ldap_tree, 1)
    ldap_tree.add_group("Staff", dns)

    ldap_sync(org=org)

    group = org.groups.get()
    assert group.id == mine.id and group.source == "ldap" and group.members.count() == 1


def test_removing_ldap_keeps_its_users_as_manual_ones(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    _people(ldap_tree, 2)
    ldap_sync(org=org)

    assert ldap_remove(org=org, actor=OPERATOR) == 2

    assert set(org.users.values_list("source", flat=True)) == {"manual"}
    assert not org.users.filter(ldap_id__isnull=False).exists()
    assert not LdapDirectory.objects.filter(org=org).exists()


def test_another_orgs_sync_never_touches_this_org(
    org: Org, other_org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree)
    configure(other_org, ldap_tree)
    _people(ldap_tree, 2)
    ldap_sync(org=org)
    ldap_sync(org=other_org)
    ldap_tree.delete(ldap_tree.user_dn("user0"))

    ldap_sync(org=other_org)

    assert org.users.filter(active=True).count() == 2
    assert other_org.users.filter(active=True).count() == 1
    assert EndUser.objects.count() == 4


def test_a_run_holding_the_directory_blocks_a_second_one(org: Org, ldap: LdapDirectory) -> None:
    from django.utils import timezone

    from directory.errors import Conflict

    LdapDirectory.objects.filter(pk=ldap.pk).update(running_since=timezone.now())
    with pytest.raises(Conflict):
        ldap_sync(org=org)


def test_the_hourly_job_syncs_every_org_whose_ldap_is_on(
    org: Org, other_org: Org, ldap_tree: Tree
) -> None:
    from directory.schedule import LDAP_SYNC, SCHEDULE
    from directory.services.ldap_directory import ldap_enabled_set
    from directory.tasks import ldap_sync_dispatch

    assert LDAP_SYNC in SCHEDULE
    configure(org, ldap_tree)
    configure(other_org, ldap_tree)
    ldap_enabled_set(org=other_org, enabled=False, actor=OPERATOR)
    _people(ldap_tree, 2)

    assert ldap_sync_dispatch.apply().get() == 1

    assert org.users.count() == 2
    assert not other_org.users.exists()
    assert org.ldap_runs.get().trigger == "schedule"


def test_without_the_development_setting_loopback_and_plain_ldap_are_refused(
    org: Org, ldap_tree: Tree, settings: Any
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = False
    configure(org, ldap_tree)
    run = ldap_sync(org=org)
    assert run.status == LdapSyncRun.Status.FAILED
    assert "Unencrypted LDAP sends the bind password in clear" in run.error

    configure(org, ldap_tree, security="starttls")
    run = ldap_sync(org=org)
    assert "resolves to 127.0.0.1, a private, loopback or reserved address: refused" in run.error
    assert not org.users.exists()


def test_the_bind_password_is_a_secret_the_operators_reencrypt_and_the_admin_hides(
    org: Org, ldap: LdapDirectory, admin_client: Any
) -> None:
    from directory.encryption import encrypted_fields
    from tests.ldap_server import ADMIN_PASSWORD

    assert (LdapDirectory, "bind_password") in encrypted_fields()
    page = admin_client.get(f"/admin/directory/ldapdirectory/{ldap.pk}/change/")
    assert page.status_code == 200 and ldap.url.encode() in page.content
    assert ADMIN_PASSWORD.encode() not in page.content and b"bind_password" not in page.content
    assert admin_client.get("/admin/directory/ldapdirectory/add/").status_code == 403


def test_an_entry_that_cannot_sync_is_counted_every_run_and_said_once_a_day(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    from directory.services import ldap_sync as module

    ldap_tree.add_user("nomail", mail=[])
    for i in range(module.MAX_FAILURE_EVENTS + 3):
        ldap_tree.add_user(f"dup{i}", mail="same@example.org")

    run = ldap_sync(org=org)

    assert run.totals["created"] == 1  # the first entry with same@example.org
    assert run.totals["failed"] == 1 + module.MAX_FAILURE_EVENTS + 2
    failures = org.events.filter(outcome=ProvisioningEvent.Outcome.FAILURE)
    assert failures.count() == module.MAX_FAILURE_EVENTS
    assert failures.filter(message__endswith="no mail: skipped").exists()
    assert ldap_sync(org=org).totals["failed"] == run.totals["failed"]
    assert failures.count() == module.MAX_FAILURE_EVENTS + 3  # the rest, once


def test_an_ldap_runs_changes_are_in_the_hourly_summary(
    org: Org, admin: Any, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    from datetime import timedelta

    import time_machine
    from django.core import mail
    from django.utils import timezone

    from directory.summaries import summary_send

    _people(ldap_tree, 2)
    configure(org, ldap_tree)
    ldap_sync(org=org)
    configure(org, ldap_tree, bind_password="wrong")
    ldap_sync(org=org)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)

    with time_machine.travel(hour + timedelta(hours=1, seconds=3), tick=False):
        summary_send(org=org, hour=hour)

    body = mail.outbox[0].body
    assert "LDAP sync failed: The server refused the bind DN and password" in body
    assert "3 events: 2 successes, 1 failure" in body and "Create user: 2" in body


def test_an_ldap_runs_changes_are_in_the_change_feed(
    org: Org, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    _people(ldap_tree, 2)
    ldap_sync(org=org)
    created = org.changes.filter(type="user.created").order_by("id")
    assert [c.data["object"]["userName"] for c in created] == [
        "user0@example.org",
        "user1@example.org",
    ]
    assert all(c.data["object"]["source"] == "ldap" for c in created)
    assert org.changes.filter(type="seat.assigned").count() == 2
    ldap_sync(org=org)  # nothing changed: no change either
    assert org.changes.count() == 4
