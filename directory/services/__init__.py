"""Writes to the directory. Every rule lives here once, whoever triggers it: SCIM, the
console, the admin API or a manage.py command. Reads are in directory.selectors.

One module per subject. A module imports only modules above it in this list, so there
is no import cycle:

    events          event_record: the provisioning event of a change
    changes         change events (the change feed and webhooks), written with each change
    sessions        end-user sessions, and the access check each sign-in and request passes
    signin_state    one-time values of sign-ins in flight (AuthnRequest IDs, OIDC state)
    _common         private helpers: live-directory lock, If-Match check, _event
    orgs            orgs, their deprovisioning policy, org admins, their summary emails
    admin_mfa       console admins' second factor, and the audit of their sign-ins
    idp             the org's end-user identity provider
    access          the org's access groups and the NOT_IN_ACCESS_GROUPS mark
    seats           seats: take, free, assign, revoke
    scim_directory  enable, disable, delete the SCIM directory; its name rule
    scim_requests   the provisioning log: one row per SCIM request, masked
    users           end users
    bulk            actions on a selection of users: seats, deletion, the export's audit
    groups          groups and memberships
    signin          the sign-in gate: linking, just-in-time creation, the signin event
    ldap_mapping    LDAP entries as users and groups (the AD and OpenLDAP presets)
    ldap_directory  the org's LDAP directory: its settings, the connection test
    ldap_sync       an LDAP run: users and groups mirrored, deprovisioning, its totals

Callers import from here (`from directory import services`); the names below are the
public services and the values they take and return. Reads kept with their subject
(directory.services.idp.sp_values), the sign-in modules (sessions, signin_state,
signin: only the signin app uses them) and scim_requests (only the SCIM gate writes
the log) are imported by their own names.
"""

from __future__ import annotations

from directory.services.access import org_access_groups_set
from directory.services.admin_mfa import (
    admin_mfa_reset,
    admin_mfa_verify,
    admin_signin_record,
    admin_totp_confirm,
    admin_totp_start,
)
from directory.services.bulk import (
    BulkResult,
    users_delete_manual,
    users_export_record,
    users_seat_assign,
    users_seat_revoke,
)
from directory.services.changes import changes_retention_set
from directory.services.events import event_record
from directory.services.groups import group_create, group_delete, group_update
from directory.services.idp import idp_configure, idp_jit_set
from directory.services.orgs import (
    org_admin_add,
    org_admin_mfa_set,
    org_admin_summaries_set,
    org_create,
    org_deprovision_set,
    org_request_log_set,
    org_update,
)
from directory.services.scim_directory import (
    scim_directory_delete,
    scim_disable,
    scim_enable,
    scim_name_rule_set,
)
from directory.services.seats import seat_assign, seat_revoke
from directory.services.user_fields import UserFields
from directory.services.users import (
    UserChange,
    user_add,
    user_create,
    user_delete,
    user_deprovision,
    user_patch,
    user_update,
)

__all__ = [
    "BulkResult",
    "UserChange",
    "UserFields",
    "admin_mfa_reset",
    "admin_mfa_verify",
    "admin_signin_record",
    "admin_totp_confirm",
    "admin_totp_start",
    "changes_retention_set",
    "event_record",
    "group_create",
    "group_delete",
    "group_update",
    "idp_configure",
    "idp_jit_set",
    "org_access_groups_set",
    "org_admin_add",
    "org_admin_mfa_set",
    "org_admin_summaries_set",
    "org_create",
    "org_deprovision_set",
    "org_request_log_set",
    "org_update",
    "scim_directory_delete",
    "scim_disable",
    "scim_enable",
    "scim_name_rule_set",
    "seat_assign",
    "seat_revoke",
    "user_add",
    "user_create",
    "user_delete",
    "user_deprovision",
    "user_patch",
    "user_update",
    "users_delete_manual",
    "users_export_record",
    "users_seat_assign",
    "users_seat_revoke",
]
