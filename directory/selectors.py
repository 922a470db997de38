"""Reads from the directory. Everything that serves a request starts from an org."""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, TruncHour

from directory.errors import NotFound, PreconditionFailed
from directory.models import (
    AuditEvent,
    EndUser,
    Group,
    IdentityProvider,
    LdapDirectory,
    LdapSyncRun,
    Membership,
    Org,
    ProvisioningEvent,
    ScimDirectory,
    ScimRequest,
    Source,
    UserEmail,
)
from directory.names import display_name_key, user_name_key
from directory.prepared import PreparedQuery


def org_get(*, slug: str) -> Org:
    """The org with this slug, or NotFound (operators only: no admin check)."""
    try:
        return Org.objects.get(slug=slug)
    except Org.DoesNotExist:
        raise NotFound(f"No org with slug {slug!r}") from None


def org_list() -> QuerySet[Org]:
    """Every org, for operators."""
    return Org.objects.order_by("slug")


def org_list_for_admin(*, user: User | AnonymousUser) -> QuerySet[Org]:
    """The orgs this person administers."""
    if not user.is_authenticated:
        return Org.objects.none()
    return Org.objects.filter(admins__user=user).order_by("name", "slug")


def access_group_list(*, org: Org) -> QuerySet[Group]:
    """The org's access groups, by name (none: every user gets access)."""
    return org.access_groups.order_by(Lower("display_name"), "id")


def scim_directory_get(*, org: Org) -> ScimDirectory | None:
    """The org's SCIM directory that is not deleted (enabled or not), if any."""
    return org.scim_directories.filter(deleted_at__isnull=True).first()


def ldap_directory_find(*, org: Org) -> LdapDirectory | None:
    """The org's LDAP directory, if it has one."""
    return LdapDirectory.objects.filter(org=org).first()


def ldap_last_run(*, org: Org) -> LdapSyncRun | None:
    """The org's latest LDAP sync run, if any."""
    return org.ldap_runs.order_by("-started_at").first()


def org_for_admin(*, user: User | AnonymousUser, slug: str) -> Org | None:
    """The org with this slug if the person administers it, else None."""
    return org_list_for_admin(user=user).filter(slug=slug).first()


def user_list(
    *,
    org: Org,
    q: str = "",
    status: str = "",
    source: str = "",
    group: str = "",
    seat: str = "",
    signin: str = "",
    sort: str = "",
) -> QuerySet[EndUser]:
    """The org's users for the Directory page: substring search on userName, names and
    email; filters by status (active/disabled/removed), source, group id, seat and
    sign-in (never / signed-in); ordered by `sort` (a USER_SORTS key, `-` first for
    descending; newest first when empty or unknown)."""
    users = org.users.all()
    if "\x00" in q:
        return users.none()  # nothing stored holds a NUL (Postgres cannot): nobody matches
    if q:
        users = users.filter(_users_matching(org, q.strip().lower()))
    if status == "active":
        users = users.filter(active=True)
    elif status == "disabled":
        users = users.filter(active=False)
    elif status == "removed":
        users = users.filter(removed_by_idp_at__isnull=False)
    if source in Source.values:
        users = users.filter(source=source)
    if group:
        try:
            users = users.filter(memberships__group_id=uuid.UUID(group))
        except ValueError:
            users = users.none()
    if seat == "none":
        users = users.filter(has_seat=False, active=True)
    elif seat == "access":
        users = users.exclude(access="")
    if signin == "never":
        users = users.filter(last_signin_at__isnull=True)
    elif signin == "signed-in":
        users = users.filter(last_signin_at__isnull=False)
    return users.order_by(*sort_order(USER_SORTS, sort, default="-created"))


# The columns the Users table sorts by: key -> the expressions it orders by, ascending.
USER_SORTS: dict[str, tuple[Any, ...]] = {
    "user": (Lower("user_name"),),
    "name": (Lower("family_name"), Lower("given_name")),
    "source": (F("source"),),
    "status": (F("active"),),
    "seat": (F("has_seat"),),
    "signin": (F("last_signin_at"),),
    "created": (F("created_at"),),
}
NULLABLE_SORTS = {"signin"}
GROUP_SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Lower("display_name"),),
    "source": (F("source"),),
    "members": (F("member_count"),),
    "updated": (F("updated_at"),),
}


def sort_order(sorts: dict[str, tuple[Any, ...]], sort: str, *, default: str) -> list[Any]:
    """The ORDER BY of a table sorted by `sort` ("name", "-name"; `default` when it names
    no column), with the id last so that pages never overlap or skip a row."""
    key = sort.removeprefix("-")
    if key not in sorts:
        sort, key = default, default.removeprefix("-")
    desc = sort.startswith("-")
    # NULLs (never signed in) sort as the oldest values, both ways. Only where a column
    # has them: `DESC NULLS LAST` on a NOT NULL column would not read the index backwards.
    nulls = {"nulls_last": True} if desc else {"nulls_first": True}
    order = [
        (e.desc if desc else e.asc)(**(nulls if key in NULLABLE_SORTS else {})) for e in sorts[key]
    ]
    return [*order, "-id" if desc else "id"]


# A search with at most this many candidate rows starts from the trigram indexes.
SEARCH_NARROW = 1000


def _users_matching(org: Org, part: str) -> Q:
    """The org's users whose userName, display name, given or family name or any email
    contains `part` (lowercase), as an email domain or the middle of a name.

    Narrow searches (the usual: a name, an address) read their candidates through one
    index per column (on Postgres, the trigram indexes of the migration
    user_search_trigram_indexes; SQLite scans, at its sizes) and match by id. Broad ones
    ("a", a shared domain) would make that list huge; for them one OR over the org's
    users is cheaper, because matches are dense and the page fills quickly."""
    matches = [
        Q(**{f"{column}__lower__contains": part})
        for column in ("user_name", "display_name", "given_name", "family_name")
    ]
    emails = UserEmail.objects.filter(org=org, value__lower__contains=part)
    own = EndUser.objects.filter(org=org)
    branches = [own.filter(m).values_list("id") for m in matches]
    candidates = list(
        branches[0].union(*branches[1:], emails.values_list("user_id"), all=True)[
            : SEARCH_NARROW + 1
        ]
    )
    if len(candidates) <= SEARCH_NARROW:
        return Q(id__in={row[0] for row in candidates})
    # A subquery for the emails, not a join: no DISTINCT over the org's users.
    return reduce(operator.or_, matches, Q(id__in=emails.values("user_id")))


def user_get(*, org: Org, user_id: str) -> EndUser | None:
    """One of the org's users by id, or None (also for a malformed id)."""
    try:
        return org.users.filter(id=uuid.UUID(str(user_id))).first()
    except ValueError:
        return None


@dataclass(frozen=True)
class UserNameCollision:
    """A user whose userName has no key because another user of the org holds it."""

    user: EndUser
    holder: EndUser | None  # None: no one holds the key any more


@dataclass(frozen=True)
class GroupNameCollision:
    """A group whose displayName has no key because another group of the org holds it."""

    group: Group
    holder: Group | None


def user_name_collision_list(*, org: Org) -> list[UserNameCollision]:
    """The org's users left without a user_name_key (a name equal, under
    directory.names.user_name_key, to an older user's when migration 0009 introduced
    the key), oldest first, each with the user who holds the key. Such a user is
    invisible to userName lookups and filters until it is renamed to a free name, or
    updated once the other user is gone (directory.services); an operator decides."""
    collisions = []
    for user in org.users.filter(user_name_key__isnull=True).order_by("created_at", "id"):
        holder = org.users.filter(user_name_key=user_name_key(user.user_name)).first()
        collisions.append(UserNameCollision(user=user, holder=holder))
    return collisions


def group_name_collision_list(*, org: Org) -> list[GroupNameCollision]:
    """The org's groups left without a display_name_key by migration 0010 (a name equal
    to an older group's under directory.names.display_name_key), oldest first, each
    with the group holding the key. Such a group is invisible to displayName lookups
    and filters until renamed, or updated once the other is gone."""
    collisions = []
    for group in org.groups.filter(display_name_key__isnull=True).order_by("created_at", "id"):
        holder = org.groups.filter(display_name_key=display_name_key(group.display_name)).first()
        collisions.append(GroupNameCollision(group=group, holder=holder))
    return collisions


def group_list(*, org: Org, q: str = "", sort: str = "") -> QuerySet[Group]:
    """The org's groups with their member counts, whose name contains `q`, ordered by
    `sort` (a GROUP_SORTS key, `-` first for descending; by name when empty)."""
    # A correlated count runs for the rows of the page only, not a GROUP BY over every
    # membership of the org.
    counts = (
        Membership.objects.filter(group=OuterRef("pk"))
        .order_by()
        .values("group")
        .annotate(n=Count("*"))
        .values("n")
    )
    groups = org.groups.annotate(
        member_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0)
    )
    if "\x00" in q:
        return groups.none()  # nothing stored holds a NUL: no group matches
    if q:
        groups = groups.filter(display_name__lower__contains=q.strip().lower())
    return groups.order_by(*sort_order(GROUP_SORTS, sort, default="name"))


def group_get(*, org: Org, group_id: str) -> Group | None:
    """One of the org's groups by id, or None."""
    try:
        return org.groups.filter(id=uuid.UUID(str(group_id))).first()
    except ValueError:
        return None


def event_list(
    *,
    org: Org,
    outcome: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    resource_id: uuid.UUID | str | None = None,
    q: str = "",
    with_links: bool = False,
) -> QuerySet[ProvisioningEvent]:
    """The org's provisioning events, newest first: by outcome, action, time range,
    resource id (a malformed one matches nothing) and resource name prefix `q` (a
    user's userName, a group's displayName; case-insensitive).

    with_links annotates `resource_live`: whether the user or group the event names
    still exists in the org, and `request_logged`: whether the provisioning log still
    has the SCIM request that caused it (one correlated lookup each per row read)."""
    events = org.events.all()
    if outcome in ProvisioningEvent.Outcome.values:
        events = events.filter(outcome=outcome)
    if action in ProvisioningEvent.Action.values:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    if resource_id is not None and resource_id != "":
        try:
            events = events.filter(resource_id=uuid.UUID(str(resource_id)))
        except ValueError:
            events = events.none()
    if "\x00" in q:
        events = events.none()  # nothing stored holds a NUL (Postgres cannot)
    elif q.strip():
        events = events.filter(resource_name__lower__startswith=q.strip().lower())
    if with_links:
        events = events.annotate(
            resource_live=Case(
                When(
                    resource_type="User",
                    then=Exists(EndUser.objects.filter(org=org, id=OuterRef("resource_id"))),
                ),
                When(
                    resource_type="Group",
                    then=Exists(Group.objects.filter(org=org, id=OuterRef("resource_id"))),
                ),
                default=Value(False),
                output_field=BooleanField(),
            ),
            request_logged=Exists(ScimRequest.objects.filter(org=org, id=OuterRef("request_id"))),
        )
    return events.order_by("-created_at", "-id")


def audit_list(*, org: Org) -> QuerySet[AuditEvent]:
    """The org's audit trail, newest first."""
    return org.audit_events.order_by("-created_at", "-id")


def group_choices(*, org: Org) -> QuerySet[Group]:
    """The org's groups, id and name only, for pickers (no member counts)."""
    # "org" too: the related manager sets it on each row, which would load it per row.
    return org.groups.only("id", "org", "display_name").order_by(Lower("display_name"), "id")


def idp_get(*, org: Org) -> IdentityProvider | None:
    """The org's end-user identity provider, if one was configured."""
    return IdentityProvider.objects.filter(org=org).first()


def scim_check_prerequisites(*, org: Org) -> None:
    """Raise PreconditionFailed with the reason SCIM cannot be enabled for this org
    (nothing is written: the console asks before it offers the switch)."""
    idp = idp_get(org=org)
    if idp is None or not idp.is_saved:
        raise PreconditionFailed(
            "Configure and save the org's end-user identity provider before enabling SCIM"
        )
    if idp.provider == IdentityProvider.Provider.OKTA and idp.protocol != "saml":
        raise PreconditionFailed(
            "SCIM with Okta needs a SAML connection: convert the connection to SAML first"
        )


# The users an IdP sees of its org: not those it removed under the "disable" policy
# (they stay in the directory, and a later create of the same userName revives them).
IDP_VISIBLE_USERS: dict[str, Any] = {"removed_by_idp_at__isnull": True}


def users_of_org_by_name(org_id: int) -> QuerySet[EndUser]:
    """The org's users, for a lookup by userName: filter on
    `user_name_key=user_name_key(name)` (unique per org; see directory.names).

    The org is matched as `org_id + 0`, an expression no index serves. Postgres
    estimates an org its statistics do not know yet (a new org in its first sync, until
    ANALYZE samples it) at one row, and then prefers an index that leads with org_id
    and filters the org's users one by one: each lookup scans the org, a cost that
    grows with it. With no org index to choose, it reads the unique
    (user_name_key, org) index, whatever the statistics say.
    """
    return EndUser.objects.alias(org_unindexed=F("org_id") + 0).filter(org_unindexed=org_id)


# `filter=userName eq "..."`, the lookup an IdP sends before every create, compiled once
# (directory.prepared). No order: userName is unique per org, so at most one user.
_IDP_USERS_NAMED: PreparedQuery[EndUser] = PreparedQuery(
    lambda org_id, key: users_of_org_by_name(org_id).filter(user_name_key=key, **IDP_VISIBLE_USERS),
    samples=(-7_000_001, "prepared-sample-user-name"),
)


def idp_users_named(*, org_id: int, key: str) -> list[EndUser]:
    """The org's user visible to its IdP whose userName has this case key
    (directory.names.user_name_key), as a list of at most one."""
    return _IDP_USERS_NAMED.all(org_id, key)


def user_group_names(*, user: EndUser) -> list[str]:
    """The names of the groups a user belongs to, in order."""
    return list(user.groups.order_by("display_name").values_list("display_name", flat=True))


@dataclass(frozen=True)
class OrgOverview:
    """The org's users and seats at a glance (the console's Overview)."""

    users_active: int
    users_disabled: int
    users_without_seat: int  # active users waiting for a seat
    users_never_signed_in: int
    seats_used: int
    seats_total: int


def users_disabled_longer_than_count(*, org: Org, days: int) -> int:
    """How many of the org's users have been disabled for longer than `days`: those that
    a disable-then-delete policy with that grace period deletes at its next daily run
    (directory.services.users_grace_expired_delete)."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    return org.users.filter(active=False, disabled_at__lte=cutoff).count()


def users_waiting_for_seat_count(*, org: Org) -> int:
    """How many of the org's active users have no seat (the partial index
    enduser_waiting_for_seat holds exactly them)."""
    return org.users.filter(has_seat=False, active=True).count()


def org_overview(*, org: Org) -> OrgOverview:
    """The counts of the org's users by state, in one aggregate query, with its seats.
    Each count is what the Users page shows under the matching filter (user_list)."""
    counts = org.users.aggregate(
        n_active=Count("id", filter=Q(active=True)),
        n_disabled=Count("id", filter=Q(active=False)),
        n_without_seat=Count("id", filter=Q(active=True, has_seat=False)),
        n_never_signed_in=Count("id", filter=Q(last_signin_at__isnull=True)),
    )
    return OrgOverview(
        users_active=counts["n_active"],
        users_disabled=counts["n_disabled"],
        users_without_seat=counts["n_without_seat"],
        users_never_signed_in=counts["n_never_signed_in"],
        seats_used=org.seats_used,
        seats_total=org.seats,
    )


@dataclass(frozen=True)
class HourActivity:
    """The provisioning events of one hour: succeeded (disabled included: the
    deactivation was carried out) and failed."""

    hour: datetime
    success: int
    failure: int


def event_activity_hourly(*, org: Org, now: datetime, hours: int = 7 * 24) -> list[HourActivity]:
    """The org's provisioning events per UTC hour for the last `hours` hours, oldest
    first, the current hour last (so far); sign-ins are not provisioning and are left
    out. One grouped query; hours without events are zeros."""
    return _activity_hourly(org.events.all(), now=now, hours=hours)


def event_activity_hourly_all(*, now: datetime, hours: int = 7 * 24) -> list[HourActivity]:
    """event_activity_hourly over every org, for operators."""
    return _activity_hourly(ProvisioningEvent.objects.all(), now=now, hours=hours)


def _activity_window(now: datetime, hours: int) -> tuple[datetime, datetime]:
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(hours=hours), end


def _activity_hourly(
    events: QuerySet[ProvisioningEvent], *, now: datetime, hours: int
) -> list[HourActivity]:
    start, end = _activity_window(now, hours)
    rows = (
        events.filter(created_at__gte=start, created_at__lt=end)
        .exclude(action=ProvisioningEvent.Action.SIGNIN)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    failures: dict[datetime, int] = {}
    successes: dict[datetime, int] = {}
    for row in rows:
        counts = failures if row["outcome"] == ProvisioningEvent.Outcome.FAILURE else successes
        counts[row["hour"]] = counts.get(row["hour"], 0) + row["n"]
    slots = [start + timedelta(hours=i) for i in range(hours)]
    return [HourActivity(h, successes.get(h, 0), failures.get(h, 0)) for h in slots]


@dataclass(frozen=True)
class OrgActivity:
    """One org's users, seats and provisioning over a window, for operators."""

    org: Org
    users: int
    success: int
    failure: int


def org_activity_list(*, now: datetime, hours: int = 7 * 24) -> list[OrgActivity]:
    """Every org with its user count and its provisioning events (succeeded, failed;
    sign-ins left out) over the last `hours` hours as event_activity_hourly counts
    them, by slug. Two queries: the orgs with their counts, the events grouped by org."""
    start, end = _activity_window(now, hours)
    users = (
        EndUser.objects.filter(org=OuterRef("pk"))
        .order_by()
        .values("org")
        .annotate(n=Count("*"))
        .values("n")
    )
    orgs = Org.objects.annotate(
        user_count=Coalesce(Subquery(users, output_field=IntegerField()), 0)
    ).order_by("slug")
    rows = (
        ProvisioningEvent.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(action=ProvisioningEvent.Action.SIGNIN)
        .values("org_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    failures: dict[int, int] = {}
    successes: dict[int, int] = {}
    for row in rows:
        counts = failures if row["outcome"] == ProvisioningEvent.Outcome.FAILURE else successes
        counts[row["org_id"]] = counts.get(row["org_id"], 0) + row["n"]
    return [
        OrgActivity(
            org=o,
            users=o.user_count,
            success=successes.get(o.pk, 0),
            failure=failures.get(o.pk, 0),
        )
        for o in orgs
    ]
