"""The provisioning log: one ScimRequest per request to a directory's SCIM URL.

Not an audited write (it records what an IdP sent, not a change anyone made), so it
takes no actor. The SCIM gate calls scim_request_record after the response is made;
what it stores has its secrets masked here (directory.masking)."""

from __future__ import annotations

import atexit
import ipaddress
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from directory.masking import body_mask
from directory.models import ScimDirectory, ScimRequest
from directory.prepared import insert

logger = logging.getLogger(__name__)

# The org of each directory id this process has looked up (None: no such directory).
# A directory never changes org, so an unauthenticated request costs no lookup the
# second time; bounded, since the ids come from URLs anyone can send.
_directory_orgs: dict[uuid.UUID, int | None] = {}


@dataclass(frozen=True)
class ScimRequestFacts:
    """What the gate knows of one request and its response."""

    method: str
    path: str
    query: str
    status: int
    latency_ms: int
    address: str
    user_agent: str
    request_body: bytes = b""
    response_body: bytes = b""
    scim_type: str = ""
    detail: str = ""
    token_name: str = ""
    token_prefix: str = ""


def idp_from_user_agent(user_agent: str) -> str:
    """The IdP a User-Agent identifies: Okta, Entra (Azure AD's provisioning) or other."""
    lowered = user_agent.lower()
    if "okta" in lowered:
        return ScimRequest.Idp.OKTA
    if "azure" in lowered or "entra" in lowered or "microsoft" in lowered:
        return ScimRequest.Idp.ENTRA
    return ScimRequest.Idp.OTHER


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _directory_org(directory_id: uuid.UUID) -> int | None:
    if directory_id not in _directory_orgs:
        if len(_directory_orgs) > 10_000:
            _directory_orgs.clear()
        _directory_orgs[directory_id] = (
            ScimDirectory.objects.filter(pk=directory_id).values_list("org_id", flat=True).first()
        )
    return _directory_orgs[directory_id]


def scim_request_record(
    *,
    facts: ScimRequestFacts,
    directory_id: uuid.UUID,
    directory: ScimDirectory | None = None,
    aggregate: bool = False,
) -> None:
    """Record one request to the SCIM URL of `directory_id` (`directory` when a token
    of it authenticated the request). One INSERT; a request that did not authenticate
    looks its directory's org up once per process (none: logged for operators only).

    With `aggregate` (its address is under the failed-authentication throttle) the
    request costs no query: it is counted in this process, and the count is added to
    its address's row of that minute (created if need be) once every
    THROTTLED_FLUSH_SECONDS, at the next request after that, or when the process
    exits."""
    if _throttled:
        scim_requests_flush()
    address = _address(facts.address)
    if aggregate:
        minute = timezone.now().replace(second=0, microsecond=0)
        key = (address, minute, directory_id)
        pending = _throttled.get(key)
        if pending is None:
            _throttled[key] = _Pending(facts=facts, since=time.monotonic(), count=1)
        else:
            pending.count += 1
            pending.facts = facts
        return
    org_id, directory_pk = _owner(directory_id, directory)
    insert(_row(facts, org_id, directory_pk, address, timezone.now()))


def _owner(
    directory_id: uuid.UUID, directory: ScimDirectory | None
) -> tuple[int | None, uuid.UUID | None]:
    if directory is not None:
        return directory.org_id, directory.pk
    org_id = _directory_org(directory_id)
    return org_id, directory_id if org_id is not None else None


def _row(
    facts: ScimRequestFacts,
    org_id: int | None,
    directory_pk: uuid.UUID | None,
    address: str | None,
    when: datetime,
    *,
    count: int = 0,
) -> ScimRequest:
    aggregated = count > 0
    return ScimRequest(
        org_id=org_id,
        directory_id=directory_pk,
        created_at=when,
        method=facts.method[:10],
        path=facts.path[:500],
        query=facts.query[:2000],
        status=facts.status,
        scim_type=facts.scim_type[:40],
        detail=facts.detail[:1000],
        latency_ms=max(0, facts.latency_ms),
        client_address=address,
        user_agent=facts.user_agent[:255],
        idp=idp_from_user_agent(facts.user_agent),
        token_name=facts.token_name[:100],
        token_prefix=facts.token_prefix[:16],
        # An aggregated row stands for many requests: it keeps none of their bodies.
        request_body="" if aggregated else body_mask(facts.request_body),
        response_body="" if aggregated else body_mask(facts.response_body),
        aggregated=aggregated,
        count=count or 1,
    )


# A throttled address's requests are counted here and written at most this often.
THROTTLED_FLUSH_SECONDS = 5.0


@dataclass
class _Pending:
    facts: ScimRequestFacts
    since: float
    count: int


_throttled: dict[tuple[str | None, datetime, uuid.UUID], _Pending] = {}


def scim_requests_flush(*, force: bool = False) -> int:
    """Write the counts of throttled requests that are due (all with `force`): each
    adds to its address's row of its minute, or creates it. Returns how many rows were
    written. Called by scim_request_record, and at exit."""
    now = time.monotonic()
    minute = timezone.now().replace(second=0, microsecond=0)
    written = 0
    for key, pending in list(_throttled.items()):
        address, when, directory_id = key
        if not force and now - pending.since < THROTTLED_FLUSH_SECONDS and when == minute:
            continue
        del _throttled[key]
        org_id, directory_pk = _owner(directory_id, None)
        updated = ScimRequest.objects.filter(
            aggregated=True, client_address=address, created_at=when, directory_id=directory_pk
        ).update(count=F("count") + pending.count)
        if not updated:
            insert(_row(pending.facts, org_id, directory_pk, address, when, count=pending.count))
        written += 1
    return written


def _flush_at_exit() -> None:
    try:
        scim_requests_flush(force=True)
    except Exception:
        logger.exception("Could not write the counts of throttled SCIM requests")


atexit.register(_flush_at_exit)


def scim_requests_prune(*, now: datetime | None = None) -> int:
    """Delete log entries older than SCIM_REQUEST_RETENTION_DAYS; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SCIM_REQUEST_RETENTION_DAYS)
    deleted, _ = ScimRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
