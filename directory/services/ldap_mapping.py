"""How LDAP entries become users and groups: the presets for OpenLDAP and Active
Directory, an org's overrides, and the mapping of one entry (pure functions, no I/O).

An attribute name of "" means "not mapped"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from directory.ldap_client import Entry
from directory.services.user_fields import UserFields

# AD's userAccountControl flag ACCOUNTDISABLE (0x2).
AD_ACCOUNT_DISABLED = 0x2

# Our name -> the LDAP attribute it is read from.
PRESETS: dict[str, dict[str, str]] = {
    "openldap": {
        "user_name": "mail",
        "login": "uid",
        "email": "mail",
        "given_name": "givenName",
        "family_name": "sn",
        "display_name": "cn",
        "title": "title",
        "department": "departmentNumber",
        "phone": "telephoneNumber",
        "stable_id": "entryUUID",
        "disabled": "",
        "group_name": "cn",
        "group_member": "member",
        "group_member_uid": "memberUid",
        "group_stable_id": "entryUUID",
    },
    "ad": {
        "user_name": "userPrincipalName",
        "login": "sAMAccountName",
        "email": "mail",
        "given_name": "givenName",
        "family_name": "sn",
        "display_name": "displayName",
        "title": "title",
        "department": "department",
        "phone": "telephoneNumber",
        "stable_id": "objectGUID",
        "disabled": "userAccountControl",
        "group_name": "cn",
        "group_member": "member",
        "group_member_uid": "",
        "group_stable_id": "objectGUID",
    },
}
DEFAULT_FILTERS: dict[str, tuple[str, str]] = {
    "openldap": (
        "(objectClass=inetOrgPerson)",
        "(|(objectClass=groupOfNames)(objectClass=posixGroup))",
    ),
    "ad": ("(&(objectCategory=person)(objectClass=user))", "(objectClass=group)"),
}
USER_KEYS = (
    "user_name",
    "login",
    "email",
    "given_name",
    "family_name",
    "display_name",
    "title",
    "department",
    "phone",
    "stable_id",
    "disabled",
)
GROUP_KEYS = ("group_name", "group_member", "group_member_uid", "group_stable_id")


def mapping_for(*, preset: str, overrides: dict[str, str]) -> dict[str, str]:
    """The preset's mapping with the org's overrides (unknown keys ignored)."""
    mapping = dict(PRESETS[preset])
    for key, value in overrides.items():
        if key in mapping:
            mapping[key] = value.strip()
    return mapping


def user_attributes(mapping: dict[str, str]) -> list[str]:
    """The attributes a user search asks for."""
    return sorted({mapping[k] for k in USER_KEYS if mapping.get(k)})


def group_attributes(mapping: dict[str, str]) -> list[str]:
    return sorted({mapping[k] for k in GROUP_KEYS if mapping.get(k)})


def stable_id(raw: list[bytes]) -> str:
    """The entry's stable id as a UUID string: AD's objectGUID is 16 bytes, little-endian
    in its first three fields (as AD tools print it); OpenLDAP's entryUUID is text."""
    if not raw:
        return ""
    value = raw[0]
    if len(value) == 16:
        return str(uuid.UUID(bytes_le=value))
    text = value.decode("ascii", "replace").strip().strip("{}")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text[:64]


def is_disabled(entry: Entry, mapping: dict[str, str]) -> bool:
    """AD: the ACCOUNTDISABLE bit of userAccountControl. Other directories: never (an
    entry that should not sync is left out by the user filter, and then deprovisioned)."""
    attribute = mapping.get("disabled", "")
    value = entry.text(attribute)
    if not value:
        return False
    try:
        return bool(int(value) & AD_ACCOUNT_DISABLED)
    except ValueError:
        return value.lower() in ("true", "yes", "1")


@dataclass(frozen=True)
class MappedUser:
    """An entry as it would be stored: its stable id, login (memberUid), and fields."""

    dn: str
    stable_id: str
    login: str
    fields: UserFields


def user_from_entry(entry: Entry, mapping: dict[str, str]) -> MappedUser:
    """The user an entry maps to (fields.user_name "" when the entry has none)."""
    email = entry.text(mapping["email"])
    phone = entry.text(mapping["phone"])
    fields = UserFields(
        user_name=entry.text(mapping["user_name"]),
        external_id=entry.text(mapping["login"])[:255],
        active=not is_disabled(entry, mapping),
        display_name=entry.text(mapping["display_name"])[:255],
        given_name=entry.text(mapping["given_name"])[:255],
        family_name=entry.text(mapping["family_name"])[:255],
        title=entry.text(mapping["title"])[:255],
        department=entry.text(mapping["department"])[:255],
        emails=[{"value": email, "type": "work", "primary": True}] if email else [],
        phone_numbers=[{"value": phone, "type": "work", "primary": True}] if phone else [],
    )
    return MappedUser(
        dn=entry.dn,
        stable_id=stable_id(entry.values(mapping["stable_id"])),
        login=entry.text(mapping["login"]),
        fields=fields,
    )
