"""The org's LDAP / Active Directory source: configure, test the connection, remove.
The sync itself is directory.services.ldap_sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction

from directory.audit import Actor, audit_record
from directory.errors import InvalidValue, NotFound
from directory.ldap_client import LdapSettings, ldap_connect, paged_search
from directory.models import EndUser, Group, LdapDirectory, Org, Source
from directory.services.ldap_mapping import (
    DEFAULT_FILTERS,
    PRESETS,
    MappedUser,
    mapping_for,
    user_attributes,
    user_from_entry,
)

SAMPLE_SIZE = 5


def ldap_directory_get(*, org: Org) -> LdapDirectory:
    """The org's LDAP directory; NotFound if it has none."""
    ldap = LdapDirectory.objects.filter(org=org).first()
    if ldap is None:
        raise NotFound(f"Org {org.slug!r} has no LDAP directory")
    return ldap


def _security_for(url: str, security: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise InvalidValue(f"{url!r} is not an ldap:// or ldaps:// URL", field="url")
    if parts.scheme == "ldaps":
        if security not in ("", LdapDirectory.Security.LDAPS):
            raise InvalidValue("An ldaps:// URL is TLS from the start", field="security")
        return LdapDirectory.Security.LDAPS
    if security in ("", LdapDirectory.Security.STARTTLS):
        return LdapDirectory.Security.STARTTLS
    if security != LdapDirectory.Security.NONE:
        raise InvalidValue("An ldap:// URL goes with StartTLS or none", field="security")
    return security


def ldap_configure(
    *,
    org: Org,
    url: str,
    bind_dn: str,
    bind_password: str | None,
    user_base: str,
    preset: str,
    group_base: str = "",
    user_filter: str = "",
    group_filter: str = "",
    security: str = "",
    ca_certificate: str = "",
    attributes: dict[str, str] | None = None,
    enabled: bool = True,
    page_size: int | None = None,
    actor: Actor,
) -> LdapDirectory:
    """Create or replace the org's LDAP settings. `bind_password` None keeps the saved
    one (it is never shown, so a form that leaves it blank keeps it). `security` ""
    means ldaps for ldaps:// URLs and StartTLS for ldap:// ones. Empty filters mean
    the preset's."""
    if preset not in PRESETS:
        raise InvalidValue(f"Unknown preset {preset!r}: openldap or ad", field="preset")
    security = _security_for(url, security)
    if not bind_dn.strip():
        raise InvalidValue("The bind DN is required", field="bind_dn")
    if not user_base.strip():
        raise InvalidValue("The user base DN is required", field="user_base")
    unknown = sorted(set(attributes or {}) - set(PRESETS[preset]))
    if unknown:
        raise InvalidValue(f"Unknown mapped attribute(s): {', '.join(unknown)}", field="attributes")
    if page_size is not None and not 1 <= page_size <= 5000:
        raise InvalidValue("The page size is between 1 and 5000", field="page_size")
    with transaction.atomic():
        ldap = LdapDirectory.objects.select_for_update().filter(org=org).first()
        created = ldap is None
        if ldap is None:
            ldap = LdapDirectory(org=org)
        if bind_password is None and created:
            raise InvalidValue("The bind password is required", field="bind_password")
        ldap.url = url.strip()
        ldap.security = security
        ldap.ca_certificate = ca_certificate.strip()
        ldap.bind_dn = bind_dn.strip()
        if bind_password is not None:
            ldap.bind_password = bind_password
        ldap.user_base = user_base.strip()
        ldap.user_filter = user_filter.strip()
        ldap.group_base = group_base.strip()
        ldap.group_filter = group_filter.strip()
        ldap.preset = preset
        ldap.attributes = dict(attributes or {})
        ldap.enabled = enabled
        if page_size is not None:
            ldap.page_size = page_size
        ldap.save()
        audit_record(
            org=org,
            actor=actor,
            action="ldap.configure",
            target=ldap.url,
            created=created,
            preset=preset,
        )
    return ldap


def ldap_enabled_set(*, org: Org, enabled: bool, actor: Actor) -> LdapDirectory:
    """Switch the hourly sync on or off (its users and settings stay)."""
    with transaction.atomic():
        ldap = ldap_directory_get(org=org)
        ldap.enabled = enabled
        ldap.save(update_fields=["enabled", "updated_at"])
        audit_record(org=org, actor=actor, action="ldap.enable" if enabled else "ldap.disable")
    return ldap


def ldap_remove(*, org: Org, actor: Actor) -> int:
    """Remove the org's LDAP directory. Its users and groups stay, as manual ones (no
    longer linked to LDAP entries); returns how many users that kept."""
    with transaction.atomic():
        ldap = ldap_directory_get(org=org)
        kept = EndUser.objects.filter(org=org, source=Source.LDAP).update(
            source=Source.MANUAL, ldap_id=None
        )
        Group.objects.filter(org=org, source=Source.LDAP).update(source=Source.MANUAL, ldap_id=None)
        EndUser.objects.filter(org=org, ldap_id__isnull=False).update(ldap_id=None)
        Group.objects.filter(org=org, ldap_id__isnull=False).update(ldap_id=None)
        audit_record(org=org, actor=actor, action="ldap.remove", target=ldap.url, kept_users=kept)
        ldap.delete()
    return kept


def ldap_settings(ldap: LdapDirectory) -> LdapSettings:
    """What the client needs to connect and bind."""
    return LdapSettings(
        url=ldap.url,
        security=ldap.security,
        bind_dn=ldap.bind_dn,
        bind_password=ldap.bind_password,
        ca_certificate=ldap.ca_certificate,
    )


def ldap_filters(ldap: LdapDirectory) -> tuple[str, str]:
    """The user and group filters: the org's, or the preset's."""
    users, groups = DEFAULT_FILTERS[ldap.preset]
    return ldap.user_filter or users, ldap.group_filter or groups


@dataclass
class LdapTestResult:
    users: int = 0
    groups: int = 0
    samples: list[MappedUser] = field(default_factory=list)


def ldap_test(*, ldap: LdapDirectory) -> LdapTestResult:
    """Bind, count what the filters find, and map the first five users as a sync
    would store them. Changes nothing; LdapError when the server refuses or cannot
    be reached."""
    mapping = mapping_for(preset=ldap.preset, overrides=ldap.attributes)
    user_filter, group_filter = ldap_filters(ldap)
    result = LdapTestResult()
    with ldap_connect(ldap_settings(ldap)) as connection:
        for page in paged_search(
            connection,
            base=ldap.user_base,
            search_filter=user_filter,
            attributes=user_attributes(mapping),
            page_size=ldap.page_size,
        ):
            result.users += len(page)
            for entry in page[: SAMPLE_SIZE - len(result.samples)]:
                result.samples.append(user_from_entry(entry, mapping))
        if ldap.group_base:
            for page in paged_search(
                connection,
                base=ldap.group_base,
                search_filter=group_filter,
                attributes=[],
                page_size=ldap.page_size,
            ):
                result.groups += len(page)
    return result
