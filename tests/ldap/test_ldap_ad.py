"""The Active Directory preset against AD-shaped entries in slapd (its msuser schema):
not a real AD, but the attributes AD sends, as AD encodes them."""

from __future__ import annotations

import uuid

from directory.models import LdapSyncRun, Org, ProvisioningEvent
from directory.services.ldap_sync import ldap_sync
from tests.ldap.conftest import configure
from tests.ldap_server import Tree

GUIDS = [uuid.uuid4() for _ in range(3)]


def test_the_ad_preset_syncs_ad_shaped_users_and_groups(org: Org, ldap_tree: Tree) -> None:
    # objectCategory=person is AD's own shorthand, which slapd does not resolve.
    configure(org, ldap_tree, preset="ad", user_filter="(objectClass=user)")
    ada = ldap_tree.add_ad_user("ada", guid=GUIDS[0], given="Ada", sn="Lovelace")
    bob = ldap_tree.add_ad_user("bob", guid=GUIDS[1], uac=514)  # ACCOUNTDISABLE
    ldap_tree.add_ad_group("Staff", guid=GUIDS[2], members=[ada, bob])

    run = ldap_sync(org=org)

    assert run.status == LdapSyncRun.Status.SUCCESS, run.error
    assert run.totals["created"] == 1  # a user disabled in AD and not here is not created
    user = org.users.get()
    assert user.user_name == "ada@corp.example"  # userPrincipalName
    assert user.external_id == "ada"  # sAMAccountName
    assert user.ldap_id == str(GUIDS[0])  # objectGUID, as AD prints it
    assert user.emails[0]["value"] == "ada.mail@corp.example"
    group = org.groups.get()
    assert group.ldap_id == str(GUIDS[2])
    assert [u.user_name for u in group.members.all()] == ["ada@corp.example"]

    ldap_tree.modify(ada, userAccountControl="514")
    run = ldap_sync(org=org)

    assert run.totals["disabled"] == 1
    user.refresh_from_db()
    assert not user.active and not user.has_seat
    event = org.events.filter(resource_id=user.id).latest("id")
    assert event.outcome == ProvisioningEvent.Outcome.DISABLED
    assert event.message.startswith("Deactivated by LDAP")

    ldap_tree.modify(ada, userAccountControl="66048")  # enabled, password never expires
    assert ldap_sync(org=org).totals["updated"] == 1
    user.refresh_from_db()
    assert user.active and user.has_seat
