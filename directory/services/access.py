"""Access groups: which groups' members alone get access, and the users'
NOT_IN_ACCESS_GROUPS mark that follows from them."""

from __future__ import annotations

import uuid

from django.db import transaction

from directory.audit import Actor, audit_record
from directory.errors import InvalidValue
from directory.models import EndUser, Group, Membership, Org, ScimDirectory
from directory.names import display_name_key
from directory.services._common import _forget_cached_tokens, _live_directory_lock


def _access_groups_forget(directory: ScimDirectory) -> None:
    """Drop the directory's remembered access groups, here and in the token cache."""
    directory.__dict__.pop("access_group_ids", None)
    _forget_cached_tokens(directory)


def _access_group_ids(*, org: Org, directory: ScimDirectory | None) -> list[uuid.UUID]:
    """The groups that restrict access in the org (none: nobody is restricted)."""
    if directory is not None:
        return directory.access_group_ids
    return list(
        Group.objects.filter(
            org=org,
            pk__in=ScimDirectory.access_groups.through.objects.filter(
                scimdirectory__org=org, scimdirectory__deleted_at__isnull=True
            ).values("group_id"),
        ).values_list("id", flat=True)
    )


def _access_refresh(
    *,
    org: Org,
    directory: ScimDirectory | None,
    user_ids: list[uuid.UUID] | None,
    changed_group: Group | None = None,
) -> None:
    """Mark users outside the directory's access groups NOT_IN_ACCESS_GROUPS (and clear
    the mark for the rest). A directory without access groups restricts nobody.

    With `changed_group` (its members changed), only an access group's changes can move
    anyone in or out; any other group's are skipped without a scan of the org's users."""
    allowed = _access_group_ids(org=org, directory=directory)
    if changed_group is not None and changed_group.pk not in allowed:
        return
    users = org.users.all() if user_ids is None else org.users.filter(id__in=user_ids)
    if not allowed:
        if user_ids is None:
            users.exclude(access="").update(access="")
        return
    in_groups = Membership.objects.filter(group_id__in=allowed).values("user_id")
    users.filter(id__in=in_groups).exclude(access="").update(access="")
    users.exclude(id__in=in_groups).exclude(access=EndUser.Access.NOT_IN_ACCESS_GROUPS).update(
        access=EndUser.Access.NOT_IN_ACCESS_GROUPS
    )


@transaction.atomic
def scim_access_groups_set(*, org: Org, names: list[str], actor: Actor) -> list[Group]:
    """Restrict access to members of these groups (by displayName, compared by
    directory.names.display_name_key);
    an empty list lifts the restriction. Users outside them are marked
    NOT_IN_ACCESS_GROUPS at once, and the mark clears as they join an allowed group."""
    directory = _live_directory_lock(org=org)
    wanted = {display_name_key(n.strip()): n.strip() for n in names if n.strip()}
    groups: list[Group] = list(org.groups.filter(display_name_key__in=list(wanted)))

    missing = set(wanted) - {g.display_name_key for g in groups}
    if missing:
        shown = ", ".join(repr(wanted[m]) for m in sorted(missing))
        raise InvalidValue(f"No group named {shown} in this org", field="access_groups")
    directory.access_groups.set(groups)
    _access_groups_forget(directory)
    _access_refresh(org=org, directory=directory, user_ids=None)
    audit_record(
        org=org,
        actor=actor,
        action="scim.access_groups",
        target=", ".join(g.display_name for g in groups) or "(none)",
    )
    return groups
