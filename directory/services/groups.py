"""Groups and their memberships: create, update (members set-based), delete; access
marks follow when an access group's members change."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from directory.audit import Actor
from directory.errors import Conflict, InvalidValue
from directory.models import Group, Membership, Org, ProvisioningEvent, ScimDirectory, Source
from directory.names import display_name_key
from directory.services._common import Versions, _event, _name_check, _version_check
from directory.services.access import _access_groups_forget, _access_refresh
from directory.services.changes import Type, change_group, change_members


def _member_ids_parse(ids: list[str]) -> tuple[list[uuid.UUID], list[str]]:
    """The user ids among member values, and the values that are no user id at all.

    A value that is not a UUID names no user anywhere, so it is skipped (and the event
    says so) rather than failing the whole request: Okta retries a failed group push
    as a whole, and one stray value would block every real change with it."""
    parsed: list[uuid.UUID] = []
    skipped: list[str] = []
    for raw in ids:
        try:
            parsed.append(uuid.UUID(str(raw)))
        except ValueError:
            skipped.append(str(raw)[:100])
    return list(dict.fromkeys(parsed)), skipped


def _skipped_message(skipped: list[str]) -> str:
    if not skipped:
        return ""
    return "Skipped member values that are not user ids: " + ", ".join(skipped[:5])


def _member_ids_check(*, org: Org, ids: list[uuid.UUID]) -> None:
    """InvalidValue naming the user ids that are not users of this org (another org's
    users included), so a request can never reach across orgs; ids of the org's own
    groups are refused as nesting, which is not supported."""
    if not ids:
        return
    found = set(
        org.users.filter(id__in=set(ids), removed_by_idp_at__isnull=True).values_list(
            "id", flat=True
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        # Only on the refusal path: an id of one of the org's groups is an attempt at
        # nesting (an IdP that sends members without their type), and says so.
        groups = set(org.groups.filter(id__in=missing).values_list("id", flat=True))
        nested = [str(i) for i in missing if i in groups]
        if nested:
            shown = ", ".join(nested[:5]) + (
                f" and {len(nested) - 5} more" if len(nested) > 5 else ""
            )
            verb = "is a group" if len(nested) == 1 else "are groups"
            raise InvalidValue(f"Nested groups are not supported: {shown} {verb}", field="members")
        bad = [str(i) for i in missing]
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise InvalidValue(f"No user with id {shown} in this directory", field="members")


def _members_add(*, group: Group, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Add the users who are not members yet; returns them."""
    if not user_ids:
        return []
    existing = set(
        Membership.objects.filter(group=group, user_id__in=user_ids).values_list(
            "user_id", flat=True
        )
    )
    rows = [Membership(group=group, user_id=u) for u in user_ids if u not in existing]
    # ignore_conflicts: a concurrent PATCH may add the same member between our read
    # and our insert; the unique constraint makes the second insert a no-op.
    Membership.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return [row.user_id for row in rows]


def _members_remove(*, group: Group, user_ids: list[uuid.UUID] | None) -> list[uuid.UUID]:
    """Remove these members (all with None); returns those who were members. The
    caller holds the group's row lock, so no member comes or goes in between."""
    q = Membership.objects.filter(group=group)
    if user_ids is not None:
        q = q.filter(user_id__in=user_ids)
    gone = list(q.values_list("user_id", flat=True))
    if gone:
        # Membership has no dependants, so Django deletes with one DELETE statement.
        q.delete()
    return gone


def _members_replace(
    *, group: Group, user_ids: list[uuid.UUID]
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    keep = set(user_ids)
    current = set(Membership.objects.filter(group=group).values_list("user_id", flat=True))
    removed = _members_remove(group=group, user_ids=list(current - keep)) if current - keep else []
    added = _members_add(group=group, user_ids=[u for u in user_ids if u not in current])
    return added, removed


_GROUP_NAME_LENGTH = Group._meta.get_field("display_name").max_length or 255


def _group_name_check(*, display_name: str) -> str:
    return _name_check(display_name, label="displayName", max_length=_GROUP_NAME_LENGTH)


def group_create(
    *,
    org: Org,
    display_name: str,
    external_id: str = "",
    member_ids: list[str] | None = None,
    source: str = Source.MANUAL,
    directory: ScimDirectory | None = None,
    actor: Actor,
    ldap_id: str | None = None,
) -> Group:
    """Create a group with its members, in one transaction with its event.

    displayName is unique per org by its key, directory.names.display_name_key (the
    userName rule). When a SCIM directory creates
    a group whose name matches a group of another source (made in the console, or
    left by a deleted directory), it takes that group over: same id, same members,
    now the directory's (a group synced from LDAP included: LDAP runs leave it alone
    from then on). A clash with a group the directory already owns is a Conflict.
    `ldap_id` is the stable id of the LDAP entry a sync creates the group from.
    """
    name = _group_name_check(display_name=display_name)
    try:
        with transaction.atomic():
            members, skipped = _member_ids_parse(member_ids or [])
            _member_ids_check(org=org, ids=members)
            existing = (
                org.groups.select_for_update()
                .filter(display_name_key=display_name_key(name))
                .first()
            )
            if existing is not None:
                owned = directory is None or existing.directory_id == directory.id
                if owned:
                    raise Conflict(f"A group named {name!r} already exists", field="displayName")
                previous_source = existing.source
                existing.display_name = name
                existing.external_id = external_id
                existing.directory = directory
                existing.source = source
                existing.version += 1
                existing.save()
                added_ids = _members_add(group=existing, user_ids=members)
                added = len(added_ids)
                _event(
                    group=existing,
                    org=org,
                    action=ProvisioningEvent.Action.GROUP_CREATE,
                    directory=directory,
                    actor=actor,
                    message=f"Took over the existing {previous_source} group of the same name",
                    details={"takeover": True, "added": added}
                    | ({"skipped": skipped[:20]} if skipped else {}),
                )
                change_group(group=existing, type=Type.GROUP_UPDATED, taken_over=True)
                change_members(group=existing, added=added_ids, removed=[])
                _access_refresh(
                    org=org, directory=directory, user_ids=members, changed_group=existing
                )
                return existing
            group = Group(
                org=org,
                display_name=name,
                external_id=external_id,
                source=source,
                directory=directory,
                ldap_id=ldap_id,
            )
            group.save(force_insert=True)
            added_ids = _members_add(group=group, user_ids=members)
            added = len(added_ids)
            change_group(group=group, type=Type.GROUP_CREATED)
            change_members(group=group, added=added_ids, removed=[])
            _event(
                group=group,
                org=org,
                action=ProvisioningEvent.Action.GROUP_CREATE,
                directory=directory,
                actor=actor,
                message=_skipped_message(skipped),
                details=({"added": added} if added else {})
                | ({"skipped": skipped[:20]} if skipped else {}),
            )
            # A group made just now restricts nobody: it cannot be an access group yet.
            return group
    except IntegrityError:
        raise Conflict(f"A group named {name!r} already exists", field="displayName") from None


def group_update(
    *,
    group: Group,
    display_name: str | None = None,
    external_id: str | None = None,
    member_ops: list[tuple[str, list[str]]] | None = None,
    expected_version: Versions = None,
    directory: ScimDirectory | None = None,
    actor: Actor,
) -> Group:
    """Rename a group and change its members, set-based, in one transaction.

    member_ops run in order; each is ("add", ids), ("remove", ids), ("replace", ids)
    or ("remove_all", []). Member ids must be users of the group's org (InvalidValue
    otherwise, and nothing changes). SCIM PUT is a rename plus ("replace", all ids).
    """
    org = group.org
    try:
        with transaction.atomic():
            locked = Group.objects.select_for_update().get(pk=group.pk)
            _version_check(locked, expected_version)
            parsed_ops: list[tuple[str, list[uuid.UUID]]] = []
            skipped: list[str] = []
            for op, ids in member_ops or []:
                user_ids, not_ids = _member_ids_parse(ids)
                parsed_ops.append((op, user_ids))
                skipped.extend(not_ids)
            # Members to add must be the org's users; removing anyone else is a no-op.
            _member_ids_check(
                org=org,
                ids=list(
                    dict.fromkeys(
                        u for op, ids in parsed_ops if op in ("add", "replace") for u in ids
                    )
                ),
            )
            details: dict[str, Any] = {}
            if skipped:
                details["skipped"] = skipped[:20]
            if display_name is not None:
                name = _group_name_check(display_name=display_name)
                new_key = display_name_key(name)
                if new_key != locked.display_name_key:
                    clash = (
                        org.groups.filter(display_name_key=new_key).exclude(pk=locked.pk).exists()
                    )
                    # As for users (_user_apply): a group left without a key by migration
                    # 0010 that keeps its name stays as it is, and takes the key once free.
                    still_colliding = locked.display_name_key is None and new_key == (
                        display_name_key(locked.display_name)
                    )
                    if clash and not still_colliding:
                        raise Conflict(
                            f"A group named {name!r} already exists", field="displayName"
                        )
                    if not clash:
                        locked.display_name_key = new_key
                if name != locked.display_name:
                    details["displayName"] = {"old": locked.display_name, "new": name}
                    locked.display_name = name
            if external_id is not None and external_id != locked.external_id:
                details["externalId"] = {"old": locked.external_id, "new": external_id}
                locked.external_id = external_id
            added_ids: list[uuid.UUID] = []
            removed_ids: list[uuid.UUID] = []
            for op, user_ids in parsed_ops:
                if op == "add":
                    added_ids += _members_add(group=locked, user_ids=user_ids)
                elif op == "remove":
                    removed_ids += _members_remove(group=locked, user_ids=user_ids)
                elif op == "remove_all":
                    removed_ids += _members_remove(group=locked, user_ids=None)
                elif op == "replace":
                    a, r = _members_replace(group=locked, user_ids=user_ids)
                    added_ids, removed_ids = added_ids + a, removed_ids + r
                else:
                    raise InvalidValue(f"Unknown member operation {op!r}", field="members")
            added, removed = len(added_ids), len(removed_ids)
            if directory is not None:
                locked.directory = directory
                locked.source = Source.SCIM
            locked.version += 1
            locked.save()
            if added or removed:
                details.update(added=added, removed=removed)
            action = (
                ProvisioningEvent.Action.GROUP_MEMBERS
                if (added or removed) and set(details) <= {"added", "removed", "skipped"}
                else ProvisioningEvent.Action.GROUP_UPDATE
            )
            _event(
                group=locked,
                org=org,
                action=action,
                directory=directory,
                actor=actor,
                message=_skipped_message(skipped),
                details=details,
            )
            renamed = {"displayName", "externalId"} & set(details)
            if renamed:
                change_group(group=locked, type=Type.GROUP_UPDATED, changed=sorted(renamed))
            change_members(group=locked, added=added_ids, removed=removed_ids)
            if added or removed:
                _access_refresh(org=org, directory=directory, user_ids=None, changed_group=locked)
            return locked
    except IntegrityError as e:
        raise _group_write_error(e, display_name) from None


def _group_write_error(e: IntegrityError, display_name: str | None) -> Conflict | InvalidValue:
    """What a constraint that failed under a concurrent write means for a group write.

    The checks before the write saw a consistent state; a constraint can still fail when
    another request changed things in between: a member deleted meanwhile (its foreign
    key), or another group renamed to the same name (the unique name)."""
    cause = e.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    diag = getattr(cause, "diag", None)
    constraint = str(getattr(diag, "constraint_name", "") or "") or str(e)
    if sqlstate == "23503" or "FOREIGN KEY" in constraint.upper():
        return InvalidValue(
            "A user added as a member was deleted while this request ran: nothing changed",
            field="members",
        )
    if "group_unique_displayname" in constraint and display_name is not None:
        return Conflict(f"A group named {display_name!r} already exists", field="displayName")
    return Conflict("The group changed while this request ran: nothing changed, retry")


def group_delete(
    *,
    group: Group,
    directory: ScimDirectory | None = None,
    expected_version: Versions = None,
    actor: Actor,
) -> None:
    """Delete a group and its memberships (not its members)."""
    with transaction.atomic():
        locked = Group.objects.select_for_update().select_related("org").get(pk=group.pk)
        _version_check(locked, expected_version)
        _event(
            group=locked,
            org=locked.org,
            action=ProvisioningEvent.Action.GROUP_DELETE,
            directory=directory,
            actor=actor,
        )
        Membership.objects.filter(group=locked).delete()
        change_group(group=locked, type=Type.GROUP_DELETED)
        restricting = locked.org.access_groups.filter(pk=locked.pk).exists()
        locked.delete()  # and its place among the org's access groups
        if restricting:
            # The org forgets it; its last access group gone,
            # nobody is restricted any more.
            _access_groups_forget(org=locked.org, directory=directory)
            _access_refresh(org=locked.org, directory=directory, user_ids=None)
