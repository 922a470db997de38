"""What the service modules share: the live-directory lock, the If-Match check, the
token cache and the per-resource event. Private to directory.services."""

from __future__ import annotations

from typing import Any

from directory.audit import Actor
from directory.errors import InvalidValue, NotFound, VersionMismatch
from directory.models import EndUser, Group, Org, ProvisioningEvent, ScimDirectory
from directory.names import USER_NAME_KEY_MAX_LENGTH, user_name_key
from directory.services.events import event_record


def _live_directory_lock(*, org: Org) -> ScimDirectory:
    """The org's live SCIM directory, locked until the transaction ends; NotFound if none."""
    directory = org.scim_directories.select_for_update().filter(deleted_at__isnull=True).first()
    if directory is None:
        raise NotFound(f"Org {org.slug!r} has no SCIM directory")
    return directory


# The versions a write may go ahead on (SCIM If-Match: one tag or several), or None.
Versions = int | frozenset[int] | None


def _version_check(locked: EndUser | Group, expected_version: Versions) -> None:
    """VersionMismatch (SCIM 412) when If-Match named none of the row's version."""
    if expected_version is None:
        return
    allowed = {expected_version} if isinstance(expected_version, int) else expected_version
    if locked.version not in allowed:
        kind = "user" if isinstance(locked, EndUser) else "group"
        named = ", ".join(str(v) for v in sorted(allowed)) or "none"
        raise VersionMismatch(
            f"The {kind} is at version {locked.version}, not one If-Match names ({named})"
        )


def _name_check(value: str, *, label: str, max_length: int) -> str:
    """A userName or group displayName, stripped, or InvalidValue: required, at most
    `max_length` characters, and a case key (directory.names) that fits its column."""
    name = value.strip()
    if not name:
        raise InvalidValue(f"{label} is required", field=label)
    if len(name) > max_length:
        raise InvalidValue(f"{label} is longer than {max_length} characters", field=label)
    if len(user_name_key(name)) > USER_NAME_KEY_MAX_LENGTH:
        raise InvalidValue(
            f"{label} is longer than {USER_NAME_KEY_MAX_LENGTH} characters once case-folded",
            field=label,
        )
    return name


def _event(
    *,
    user: EndUser | None = None,
    group: Group | None = None,
    org: Org,
    action: str,
    outcome: str = ProvisioningEvent.Outcome.SUCCESS,
    directory: ScimDirectory | None,
    actor: Actor,
    message: str = "",
    details: dict[str, Any] | None = None,
    status_code: int | None = None,
) -> None:
    if user is not None:
        resource_type, resource_id, resource_name = "User", user.id, user.user_name
    elif group is not None:
        resource_type, resource_id, resource_name = "Group", group.id, group.display_name
    else:
        resource_type, resource_id, resource_name = "", None, ""
    event_record(
        org=org,
        directory=directory,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_name=resource_name,
        message=message,
        actor=actor,
        details=details,
        status_code=status_code,
    )
