"""The LDAP sync: one run mirrors an org's LDAP users and groups into its directory,
through the same user and group services SCIM uses (seats, events, access groups and
the deprovisioning policy behave as for SCIM).

- Users are keyed by their entry's stable id (entryUUID / objectGUID): a renamed entry
  is the same user. A user with the same userName that came just in time or by hand is
  taken over; one that SCIM provisioned is left alone (SCIM wins), and so is one that
  SCIM took over from LDAP.
- Entries are read a page at a time (simple paged results), and each page's users are
  looked up in one query; only users that changed are written, each in its own
  transaction with its event.
- A user disabled in AD (userAccountControl), or gone from what the filter finds,
  follows the org's deprovisioning policy. A run that fails (server unreachable,
  search refused) deprovisions nobody, and a user search that finds nothing at all
  does not empty the directory.
- Groups and their members are mirrored; a member that is itself a group is refused
  (nested groups are not supported), with an event naming it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from directory.audit import Actor, ldap_actor
from directory.errors import Conflict, DirectoryError
from directory.ldap_client import Entry, LdapError, ldap_connect, paged_search
from directory.models import (
    EndUser,
    Group,
    LdapDirectory,
    LdapSyncRun,
    Membership,
    Org,
    ProvisioningEvent,
    Source,
)
from directory.names import display_name_key, user_name_key
from directory.services._common import _event
from directory.services.groups import group_create, group_delete, group_update
from directory.services.ldap_directory import ldap_directory_get, ldap_filters, ldap_settings
from directory.services.ldap_mapping import (
    MappedUser,
    group_attributes,
    mapping_for,
    stable_id,
    user_attributes,
    user_from_entry,
)
from directory.services.user_fields import USER_FIELD_NAMES
from directory.services.users import _user_apply, user_create, user_deprovision

logger = logging.getLogger(__name__)

# A claim older than this belongs to a run that died (its process was killed).
STALE_CLAIM = timedelta(hours=1)
# An entry that cannot be synced (no userName, a userName another entry has) fails again
# every hour until someone fixes it in LDAP: its event is written once a day, and a run
# writes at most this many (the run's totals count every failure).
FAILURE_REPEAT = timedelta(days=1)
MAX_FAILURE_EVENTS = 20


@dataclass
class Totals:
    users_seen: int = 0
    created: int = 0
    updated: int = 0
    disabled: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    groups_seen: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_deleted: int = 0


@dataclass
class _Run:
    org: Org
    mapping: dict[str, str]
    actor: Actor
    totals: Totals
    # What the user pass found, for the group pass and the deprovisioning at the end:
    # stable ids seen, and the user each entry's DN and login (memberUid) stands for.
    seen: set[str]
    by_dn: dict[str, uuid.UUID]
    by_login: dict[str, uuid.UUID]
    # Failure events this run wrote (at most MAX_FAILURE_EVENTS; the totals count all).
    failure_events: int = 0


def ldap_sync(*, org: Org, trigger: str = "schedule") -> LdapSyncRun:
    """Run one sync of the org's LDAP directory now and return its record (status,
    totals, error). NotFound without a directory; Conflict while another run holds it.
    An LDAP failure ends the run as failed, with a Failure event; what the pages read
    before it wrote stays, and nobody is deprovisioned."""
    ldap = ldap_directory_get(org=org)
    now = timezone.now()
    # The claim: a conditional UPDATE, so of two runs started together one gets it.
    free = Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_CLAIM)
    claimed = LdapDirectory.objects.filter(free, pk=ldap.pk).update(running_since=now)
    if not claimed:
        raise Conflict(f"A sync of {org.slug!r} is already running")
    run = LdapSyncRun.objects.create(org=org, started_at=now, trigger=trigger[:20])
    actor = ldap_actor(url=ldap.url)
    totals = Totals()
    try:
        _sync(ldap=ldap, org=org, actor=actor, totals=totals)
        run.status = LdapSyncRun.Status.SUCCESS
    except LdapError as e:
        run.status = LdapSyncRun.Status.FAILED
        run.error = str(e)
        _event(
            org=org,
            action=ProvisioningEvent.Action.REQUEST,
            outcome=ProvisioningEvent.Outcome.FAILURE,
            directory=None,
            actor=actor,
            message=f"LDAP sync failed: {e}",
        )
    finally:
        run.totals = asdict(totals)
        run.finished_at = timezone.now()
        if run.status == LdapSyncRun.Status.RUNNING:  # an unexpected error: re-raised
            run.status = LdapSyncRun.Status.FAILED
            run.error = run.error or "The run stopped on an internal error (see the logs)"
        run.save()
        LdapDirectory.objects.filter(pk=ldap.pk).update(running_since=None)
    return run


def _sync(*, ldap: LdapDirectory, org: Org, actor: Actor, totals: Totals) -> None:
    mapping = mapping_for(preset=ldap.preset, overrides=ldap.attributes)
    user_filter, group_filter = ldap_filters(ldap)
    run = _Run(
        org=org, mapping=mapping, actor=actor, totals=totals, seen=set(), by_dn={}, by_login={}
    )
    with ldap_connect(ldap_settings(ldap)) as connection:
        for page in paged_search(
            connection,
            base=ldap.user_base,
            search_filter=user_filter,
            attributes=user_attributes(mapping),
            page_size=ldap.page_size,
        ):
            _users_page(run, [user_from_entry(e, mapping) for e in page])
        groups: dict[str, str] = {}  # group DN -> name, for the nested-group refusals
        nested: list[tuple[Group, list[str]]] = []
        groups_seen: set[str] = set()
        if ldap.group_base:
            for page in paged_search(
                connection,
                base=ldap.group_base,
                search_filter=group_filter,
                attributes=group_attributes(mapping),
                page_size=ldap.page_size,
            ):
                for entry in page:
                    _group_entry(run, entry, groups, nested, groups_seen)
    for group, member_dns in nested:
        refused = [dn for dn in member_dns if dn.lower() in groups]
        if refused and refused[:20] != _last_refusal(group):
            shown = ", ".join(refused[:5]) + (
                f" and {len(refused) - 5} more" if len(refused) > 5 else ""
            )
            _event(
                group=group,
                org=org,
                action=ProvisioningEvent.Action.GROUP_MEMBERS,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                directory=None,
                actor=actor,
                message=f"Nested groups are not supported: {shown} not added to the group",
                details={"nested": refused[:20]},
            )
    if ldap.group_base:
        _groups_gone(run, groups_seen)
    _users_gone(run)


def _last_refusal(group: Group) -> list[str] | None:
    """The nested groups the group's last refusal named: an hourly run says it again only
    when they changed, so the Events page and the summaries are not filled with it."""
    event = (
        ProvisioningEvent.objects.filter(
            org_id=group.org_id,
            resource_id=group.id,
            action=ProvisioningEvent.Action.GROUP_MEMBERS,
            outcome=ProvisioningEvent.Outcome.FAILURE,
        )
        .order_by("-id")
        .first()
    )
    return None if event is None else list(event.details.get("nested", []))


def _unchanged(user: EndUser, mapped: MappedUser) -> bool:
    if user.removed_by_idp_at is not None:
        return False
    fields = mapped.fields
    if user.user_name != fields.user_name.strip():
        return False
    return all(getattr(user, n) == getattr(fields, n) for n in USER_FIELD_NAMES)


def _failure(run: _Run, *, mapped: MappedUser, message: str) -> None:
    run.totals.failed += 1
    if run.failure_events >= MAX_FAILURE_EVENTS:
        return
    text = f"{mapped.dn}: {message}"
    recent = run.org.events.filter(
        created_at__gte=timezone.now() - FAILURE_REPEAT,
        outcome=ProvisioningEvent.Outcome.FAILURE,
        client=run.actor.client[:255],
        message=text,
    )
    if recent.exists():
        return
    run.failure_events += 1
    _event(
        org=run.org,
        action=ProvisioningEvent.Action.USER_CREATE,
        outcome=ProvisioningEvent.Outcome.FAILURE,
        directory=None,
        actor=run.actor,
        message=text,
    )


def _remember(run: _Run, mapped: MappedUser, user_id: uuid.UUID) -> None:
    run.by_dn[mapped.dn.lower()] = user_id
    if mapped.login:
        run.by_login[mapped.login.lower()] = user_id


def _users_page(run: _Run, page: list[MappedUser]) -> None:
    org, totals = run.org, run.totals
    totals.users_seen += len(page)
    ids = [m.stable_id for m in page if m.stable_id]
    known = {u.ldap_id: u for u in org.users.filter(ldap_id__in=ids)}
    # The userNames of the entries not yet linked, in one query too: most are free, and
    # those go straight to user_create.
    keys = [
        user_name_key(m.fields.user_name.strip())
        for m in page
        if m.stable_id and m.fields.user_name and m.stable_id not in known
    ]
    taken = set(org.users.filter(user_name_key__in=keys).values_list("user_name_key", flat=True))
    for mapped in page:
        if not mapped.stable_id:
            _failure(run, mapped=mapped, message=f"no {run.mapping['stable_id']}: skipped")
            continue
        if not mapped.fields.user_name:
            _failure(run, mapped=mapped, message=f"no {run.mapping['user_name']}: skipped")
            continue
        run.seen.add(mapped.stable_id)
        user = known.get(mapped.stable_id)
        try:
            if user is None:
                key = user_name_key(mapped.fields.user_name.strip())
                _user_new(run, mapped, name_taken=key in taken)
            elif user.source != Source.LDAP:
                totals.skipped += 1  # SCIM took it over: SCIM's now
            elif _unchanged(user, mapped):
                _remember(run, mapped, user.id)
            else:
                _user_change(run, mapped, user)
        except DirectoryError as e:
            _failure(run, mapped=mapped, message=e.message)


def _user_new(run: _Run, mapped: MappedUser, *, name_taken: bool) -> None:
    org, totals = run.org, run.totals
    if not name_taken:
        if not mapped.fields.active:
            return  # disabled in LDAP and not here: nothing to create
        # user_create checks the name again under its lock: a user created meanwhile is
        # a Conflict, which the caller records as this entry's failure.
        user = user_create(
            org=org,
            fields=mapped.fields,
            source=Source.LDAP,
            actor=run.actor,
            ldap_id=mapped.stable_id,
        )
        totals.created += 1
        _remember(run, mapped, user.id)
        return
    with transaction.atomic():
        existing = (
            org.users.select_for_update()
            .filter(user_name_key=user_name_key(mapped.fields.user_name.strip()))
            .first()
        )
        if existing is None:  # deleted meanwhile: the next run creates it
            return
        if existing.source == Source.SCIM:
            totals.skipped += 1  # one source per user, and SCIM wins
            return
        if existing.source == Source.LDAP:
            raise Conflict(
                f"userName {mapped.fields.user_name!r} is already another LDAP entry's "
                f"(stable id {existing.ldap_id})"
            )
        # Created just in time at a sign-in, or by hand: LDAP takes it over.
        previous = existing.get_source_display()
        existing.ldap_id = mapped.stable_id
        existing.removed_by_idp_at = None
        change = _user_apply(
            user=existing,
            fields=mapped.fields,
            directory=None,
            actor=run.actor,
            source=Source.LDAP,
            note=f"Taken over by LDAP from a {previous.lower()} user",
        )
        totals.updated += 1
        if not change.deleted:
            _remember(run, mapped, existing.id)


def _user_change(run: _Run, mapped: MappedUser, user: EndUser) -> None:
    totals = run.totals
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
        if locked.source != Source.LDAP:  # SCIM took it over meanwhile
            totals.skipped += 1
            return
        revived = locked.removed_by_idp_at is not None
        if revived:
            # Back in LDAP after it left: it comes back as SCIM's revive does.
            locked.removed_by_idp_at = None
            locked.active = False
        change = _user_apply(
            user=locked,
            fields=mapped.fields,
            directory=None,
            actor=run.actor,
            source=Source.LDAP,
        )
    if change.deleted:
        totals.deleted += 1
        return
    if change.action == ProvisioningEvent.Action.USER_DEACTIVATE:
        totals.disabled += 1
    else:
        totals.updated += 1
    _remember(run, mapped, locked.id)


def _users_gone(run: _Run) -> None:
    """Deprovision the LDAP users of the org whose entries the run did not see."""
    org, totals = run.org, run.totals
    if totals.users_seen == 0:
        if org.users.filter(source=Source.LDAP, removed_by_idp_at__isnull=True).exists():
            _event(
                org=org,
                action=ProvisioningEvent.Action.REQUEST,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                directory=None,
                actor=run.actor,
                message=(
                    "The user search found no entries at all: nobody was deprovisioned "
                    "(check the user base DN and filter)"
                ),
            )
        return
    candidates = org.users.filter(source=Source.LDAP, removed_by_idp_at__isnull=True)
    gone = [
        pk
        for pk, ldap_id in candidates.values_list("pk", "ldap_id").iterator(chunk_size=2000)
        if ldap_id not in run.seen
    ]
    for pk in gone:
        user = org.users.filter(pk=pk).first()
        if user is None:
            continue
        change = user_deprovision(user=user, directory=None, actor=run.actor, by="LDAP")
        if change.deleted:
            totals.deleted += 1
        else:
            totals.disabled += 1


def _group_entry(
    run: _Run,
    entry: Entry,
    groups: dict[str, str],
    nested: list[tuple[Group, list[str]]],
    groups_seen: set[str],
) -> None:
    org, mapping, totals = run.org, run.mapping, run.totals
    totals.groups_seen += 1
    name = entry.text(mapping["group_name"])
    sid = stable_id(entry.values(mapping["group_stable_id"]))
    groups[entry.dn.lower()] = name
    if not name or not sid:
        totals.failed += 1
        _event(
            org=org,
            action=ProvisioningEvent.Action.GROUP_CREATE,
            outcome=ProvisioningEvent.Outcome.FAILURE,
            directory=None,
            actor=run.actor,
            message=f"{entry.dn}: no {mapping['group_name']} or stable id: skipped",
        )
        return
    groups_seen.add(sid)
    member_dns = entry.texts(mapping["group_member"])
    member_ids = [run.by_dn[dn.lower()] for dn in member_dns if dn.lower() in run.by_dn]
    member_ids += [
        run.by_login[uid.lower()]
        for uid in entry.texts(mapping["group_member_uid"])
        if uid.lower() in run.by_login
    ]
    wanted = list(dict.fromkeys(member_ids))
    unknown = [dn for dn in member_dns if dn.lower() not in run.by_dn]
    try:
        group = _group_write(run, sid=sid, name=name, wanted=wanted)
    except DirectoryError as e:
        totals.failed += 1
        _event(
            org=org,
            action=ProvisioningEvent.Action.GROUP_UPDATE,
            outcome=ProvisioningEvent.Outcome.FAILURE,
            directory=None,
            actor=run.actor,
            message=f"{entry.dn}: {e.message}",
        )
        return
    if group is not None and unknown:
        nested.append((group, unknown))


def _group_write(run: _Run, *, sid: str, name: str, wanted: list[uuid.UUID]) -> Group | None:
    org, totals = run.org, run.totals
    group = org.groups.filter(ldap_id=sid).first()
    if group is None:
        same_name = org.groups.filter(display_name_key=display_name_key(name.strip())).first()
        if same_name is None:
            totals.groups_created += 1
            return group_create(
                org=org,
                display_name=name,
                member_ids=[str(u) for u in wanted],
                source=Source.LDAP,
                actor=run.actor,
                ldap_id=sid,
            )
        if same_name.source != Source.MANUAL:
            totals.skipped += 1  # SCIM's (SCIM wins), or another LDAP entry's
            return None
        # A group made by hand: LDAP takes it over.
        with transaction.atomic():
            Group.objects.filter(pk=same_name.pk).update(source=Source.LDAP, ldap_id=sid)
            group = group_update(
                group=same_name,
                display_name=name,
                member_ops=[("replace", [str(u) for u in wanted])],
                actor=run.actor,
            )
        totals.groups_updated += 1
        return group
    if group.source != Source.LDAP:
        totals.skipped += 1  # SCIM took it over
        return None
    current = set(Membership.objects.filter(group=group).values_list("user_id", flat=True))
    if group.display_name == name.strip() and current == set(wanted):
        return group
    group = group_update(
        group=group,
        display_name=name,
        member_ops=[("replace", [str(u) for u in wanted])],
        actor=run.actor,
    )
    totals.groups_updated += 1
    return group


def _groups_gone(run: _Run, seen: set[str]) -> None:
    """Delete the LDAP groups of the org whose entries the run did not see (not when the
    group search found nothing at all: a wrong filter must not empty every group)."""
    ldap_groups = run.org.groups.filter(source=Source.LDAP)
    if run.totals.groups_seen == 0:
        if ldap_groups.exists():
            _event(
                org=run.org,
                action=ProvisioningEvent.Action.REQUEST,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                directory=None,
                actor=run.actor,
                message=(
                    "The group search found no entries at all: no group was deleted "
                    "(check the group base DN and filter)"
                ),
            )
        return
    for group in ldap_groups:
        if group.ldap_id not in seen:
            group_delete(group=group, actor=run.actor)
            run.totals.groups_deleted += 1


def ldap_runs(*, org: Org, limit: int = 10) -> list[LdapSyncRun]:
    """The org's latest sync runs, newest first."""
    return list(org.ldap_runs.order_by("-started_at")[:limit])


def ldap_sync_busy(*, org: Org) -> bool:
    """Whether a run holds the org's LDAP directory now (NotFound without one)."""
    since = ldap_directory_get(org=org).running_since
    return since is not None and since >= timezone.now() - STALE_CLAIM


def ldap_sync_due() -> list[int]:
    """The ids of the orgs whose LDAP directory the hourly job syncs."""
    return list(LdapDirectory.objects.filter(enabled=True).values_list("org_id", flat=True))
