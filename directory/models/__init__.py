"""The directory: orgs, their admins, IdP settings, SCIM directories, end users,
groups, memberships and provisioning events. Fields and constraints only; the
rules live in directory.services. One module per subject; every model is imported
here, where Django and the rest of the code find them."""

from directory.models.changes import ChangeEvent
from directory.models.fields import NameKeyField
from directory.models.ldap import LdapDirectory, LdapSyncRun
from directory.models.orgs import IdentityProvider, Org, OrgAdmin, ScimDirectory
from directory.models.people import EndUser, Group, Membership, Source, UserEmail
from directory.models.records import AuditEvent, ProvisioningEvent, ScimRequest, SummaryLog
from directory.models.signin import EndUserSession, SigninNonce, SigninRefusal

__all__ = [
    "AuditEvent",
    "ChangeEvent",
    "EndUser",
    "EndUserSession",
    "Group",
    "IdentityProvider",
    "LdapDirectory",
    "LdapSyncRun",
    "Membership",
    "NameKeyField",
    "Org",
    "OrgAdmin",
    "ProvisioningEvent",
    "ScimDirectory",
    "ScimRequest",
    "SigninNonce",
    "SigninRefusal",
    "Source",
    "SummaryLog",
    "UserEmail",
]
