"""Reads of the provisioning log (directory.models.ScimRequest): the selectors of the
console's Provisioning log page, its API, the connection health panel and the links
between log entries, events, users and groups. Writes are in
directory.services.scim_requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from directory.errors import NotFound
from directory.ids import uuid_or_none
from directory.models import EndUser, Group, Org, ProvisioningEvent, ScimRequest
from directory.selectors import event_list

SCIM_REQUEST_STATUS_CLASSES = ("2xx", "4xx", "5xx", "429")
SCIM_REQUEST_RESOURCES = ("Users", "Groups", "other")
# The resource filter's values, as ScimRequest.resource_type stores them (the type of the
# view the request reached: discovery, /Me and unknown paths have none).
_RESOURCE_TYPES = {"Users": "User", "Groups": "Group", "other": ""}


def scim_request_list(
    *,
    org: Org,
    status_class: str = "",
    method: str = "",
    resource: str = "",
    resource_id: uuid.UUID | str | None = None,
    idp: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ScimRequest]:
    """The org's provisioning log, newest first. `status_class` is 2xx, 4xx (without
    429), 5xx or 429; `resource` is Users, Groups or other (discovery, /Me, …);
    `resource_id` a user's or group's id (a malformed one matches nothing); `idp` okta,
    entra or other. Unknown filter values are not applied."""
    rows = org.scim_requests.all()
    if status_class == "429":
        rows = rows.filter(status=429)
    elif status_class in SCIM_REQUEST_STATUS_CLASSES:
        low = int(status_class[0]) * 100
        rows = rows.filter(status__gte=low, status__lt=low + 100)
        if status_class == "4xx":
            rows = rows.exclude(status=429)
    if method:
        rows = rows.filter(method=method.upper())
    if resource in _RESOURCE_TYPES:
        rows = rows.filter(resource_type=_RESOURCE_TYPES[resource])
    if resource_id:
        wanted = uuid_or_none(resource_id)
        rows = rows.filter(resource_id=wanted) if wanted else rows.none()
    if idp in ScimRequest.Idp.values:
        rows = rows.filter(idp=idp)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows.order_by("-created_at", "-id")


def scim_request_get(*, org: Org, request_id: uuid.UUID | str) -> ScimRequest:
    """One entry of the org's provisioning log, or NotFound (another org's too)."""
    wanted = uuid_or_none(request_id)
    row = org.scim_requests.filter(id=wanted).first() if wanted else None
    if row is None:
        raise NotFound(f"No SCIM request {request_id!r} in this org")
    return row


def scim_request_events(*, row: ScimRequest) -> QuerySet[ProvisioningEvent]:
    """The events the logged request caused, newest first, annotated as the Events
    page's rows are (selectors.event_list with_links)."""
    if row.org is None:
        return ProvisioningEvent.objects.none()
    return event_list(org=row.org, with_links=True).filter(request_id=row.id)


def scim_request_resource(*, row: ScimRequest) -> EndUser | Group | None:
    """The user or group the logged request was about, while it exists in its org."""
    if row.org_id is None or row.resource_id is None:
        return None
    if row.resource_type == "User":
        return EndUser.objects.filter(org_id=row.org_id, id=row.resource_id).first()
    if row.resource_type == "Group":
        return Group.objects.filter(org_id=row.org_id, id=row.resource_id).first()
    return None


@dataclass(frozen=True)
class ScimHealth:
    """The connection's health as the SCIM settings panel shows it."""

    last_request: ScimRequest | None
    last_success: ScimRequest | None
    last_failure: ScimRequest | None
    # (requests, failed ones) over the last hour and the last day; throttled (429) ones
    # of the last hour
    hour: tuple[int, int]
    day: tuple[int, int]
    throttled_hour: int
    now: datetime

    @staticmethod
    def rate(window: tuple[int, int]) -> float | None:
        total, failed = window
        return failed / total if total else None

    @property
    def hour_rate(self) -> float | None:
        return self.rate(self.hour)

    @property
    def day_rate(self) -> float | None:
        return self.rate(self.day)

    @property
    def entra_overdue(self) -> bool:
        """Entra runs a cycle about every 40 minutes: its last request is overdue when
        it is older than ENTRA_CYCLE_MINUTES (Okta pushes only on change: never)."""
        last = self.last_request
        return (
            last is not None
            and last.idp == ScimRequest.Idp.ENTRA
            and self.now - last.created_at > timedelta(minutes=ENTRA_CYCLE_MINUTES)
        )

    @property
    def throttled_often(self) -> bool:
        """Whether 429s are frequent: at least THROTTLED_WARNING of the last hour's
        requests (Entra quarantines an app that is throttled too often)."""
        total, _ = self.hour
        return total > 0 and self.throttled_hour / total >= THROTTLED_WARNING


# Entra's provisioning cycle is about 40 minutes; a few minutes' slack before warning.
ENTRA_CYCLE_MINUTES = 45
# The share of an hour's requests answered 429 above which the panel warns.
THROTTLED_WARNING = 0.05


def scim_health(*, org: Org, now: datetime | None = None) -> ScimHealth:
    """The org's last request, last success and last failure from its IdP, and how many
    requests failed (4xx, 5xx, 429) over the last hour and day, counting aggregated rows
    by their count."""
    now = now or timezone.now()
    rows = org.scim_requests.order_by("-created_at", "-id")
    hour = org.scim_requests.filter(created_at__gte=now - timedelta(hours=1)).aggregate(
        total=Sum("count"),
        failed=Sum("count", filter=Q(status__gte=400)),
        throttled=Sum("count", filter=Q(status=429)),
    )
    day = org.scim_requests.filter(created_at__gte=now - timedelta(days=1)).aggregate(
        total=Sum("count"), failed=Sum("count", filter=Q(status__gte=400))
    )
    return ScimHealth(
        last_request=rows.first(),
        last_success=rows.filter(status__lt=400).first(),
        last_failure=rows.filter(status__gte=400).first(),
        hour=(int(hour["total"] or 0), int(hour["failed"] or 0)),
        day=(int(day["total"] or 0), int(day["failed"] or 0)),
        throttled_hour=int(hour["throttled"] or 0),
        now=now,
    )
