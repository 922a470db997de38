"""Access groups: the groups of an org whose members alone get access, and the users'
NOT_IN_ACCESS_GROUPS mark that follows from them.

They are the org's (Org.access_groups), not its SCIM directory's: they apply to every
user of the org, however the user arrived, with a SCIM directory or without one.
Deleting the directory changes neither the groups nor anyone's mark, so the console's
Access panel and the marks agree in every state."""

from __future__ import annotations

import uuid

from django.db import transaction

from directory.audit import Actor, audit_record
from directory.errors import InvalidValue
from directory.models import EndUser, Group, Membership, Org, ScimDirectory
from directory.names import display_name_key
from directory.services.changes import change_access
from directory.services.sessions import sessions_end


def _access_groups_forget(*, org: Org, directory: ScimDirectory | None) -> None:
    """Drop the remembered access groups on `directory` (the caller's instance); the
    copies cached with the org's tokens are dropped by tokens.receivers."""
    if directory is not None:
        directory.__dict__.pop("access_group_ids", None)


def _access_group_ids(*, org: Org, directory: ScimDirectory | None) -> list[uuid.UUID]:
    """The org's access groups (none: nobody is restricted). A SCIM request reads them
    from its directory, where they are kept with its cached token."""
    if directory is not None:
        return directory.access_group_ids
    return list(org.access_groups.values_list("id", flat=True))


def _access_refresh(
    *,
    org: Org,
    directory: ScimDirectory | None,
    user_ids: list[uuid.UUID] | None,
    changed_group: Group | None = None,
) -> None:
    """Mark users outside the org's access groups NOT_IN_ACCESS_GROUPS (and clear the
    mark for the rest). An org without access groups restricts nobody.

    With `changed_group` (its members changed), only an access group's changes can move
    anyone in or out; any other group's are skipped without a scan of the org's users."""
    allowed = _access_group_ids(org=org, directory=directory)
    if changed_group is not None and changed_group.pk not in allowed:
        return
    users = org.users.all() if user_ids is None else org.users.filter(id__in=user_ids)
    if not allowed:
        if user_ids is None:
            let_in = users.exclude(access="")
            change_access(org=org, granted=let_in.values_list("id", "user_name"), denied=())
            let_in.update(access="")
        return
    in_groups = Membership.objects.filter(group_id__in=allowed).values("user_id")
    let_in = users.filter(id__in=in_groups).exclude(access="")
    shut_out = users.exclude(id__in=in_groups).exclude(access=EndUser.Access.NOT_IN_ACCESS_GROUPS)
    change_access(
        org=org,
        granted=let_in.values_list("id", "user_name"),
        denied=shut_out.values_list("id", "user_name"),
    )
    let_in.update(access="")
    # Whoever is now outside the access groups is signed out now.
    sessions_end(shut_out.values("pk"))
    shut_out.update(access=EndUser.Access.NOT_IN_ACCESS_GROUPS)


@transaction.atomic
def org_access_groups_set(*, org: Org, names: list[str], actor: Actor) -> list[Group]:
    """Restrict the org's access to members of these groups (by displayName, compared
    by directory.names.display_name_key); an empty list lifts the restriction. Users
    outside them are marked NOT_IN_ACCESS_GROUPS at once, and the mark clears as they
    join an allowed group. Works with or without a SCIM directory."""
    # One change at a time: two concurrent sets would each refresh the marks for
    # their own list.
    Org.objects.select_for_update().get(pk=org.pk)
    wanted = {display_name_key(n.strip()): n.strip() for n in names if n.strip()}
    groups: list[Group] = list(org.groups.filter(display_name_key__in=list(wanted)))

    missing = set(wanted) - {g.display_name_key for g in groups}
    if missing:
        shown = ", ".join(repr(wanted[m]) for m in sorted(missing))
        raise InvalidValue(f"No group named {shown} in this org", field="access_groups")
    org.access_groups.set(groups)
    _access_groups_forget(org=org, directory=None)
    _access_refresh(org=org, directory=None, user_ids=None)
    audit_record(
        org=org,
        actor=actor,
        action="org.access_groups",
        target=", ".join(g.display_name for g in groups) or "(none)",
    )
    return groups
