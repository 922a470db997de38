"""The provisioning log: one ScimRequest per request to a directory's SCIM URL.

Not an audited write (it records what an IdP sent, not a change anyone made), so it
takes no actor. The SCIM gate calls scim_request_record once the response is made.
Recording costs the request no query: the entry joins this process's buffer, and a
thread of the process writes the buffer with one bulk INSERT every
SCIM_REQUEST_LOG_FLUSH_MS (sooner once FLUSH_BATCH entries wait), and once more
when the process exits. A crash loses what waits in the buffer: the last second's
entries, never more than BUFFER_CAP (past it, entries are dropped and counted in the
log). Masking (directory.masking) happens in that thread too.

With SCIM_REQUEST_LOG_FLUSH_MS = 0 each entry is written as its request ends (the
test suite does so, to see the row inside its transaction)."""

from __future__ import annotations

import atexit
import ipaddress
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from directory.batches import delete_batched
from directory.masking import body_mask, detail_mask, query_mask
from directory.models import EndUser, Org, ScimDirectory, ScimRequest
from directory.prepared import insert

logger = logging.getLogger(__name__)

# The flusher writes sooner once this many entries wait.
FLUSH_BATCH = 200
# At most this many entries wait in a process; past it, new ones are dropped.
BUFFER_CAP = 5_000
# A throttled address's requests are counted in the process and written at most this
# often, adding to the address's row of their minute.
THROTTLED_FLUSH_SECONDS = 5.0
# Requests to a URL that names no directory are kept this long (operators only).
UNKNOWN_DIRECTORY_RETENTION_DAYS = 7

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
    # The user or group the request was about, when the gate knows it.
    resource_type: str = ""
    resource_id: uuid.UUID | None = None
    # The request body is known to be JSON (the view parsed it); a response body
    # always is, since this server wrote it.
    request_json: bool = False


@dataclass
class _Entry:
    """One request waiting to be written, as it was recorded."""

    id: uuid.UUID
    facts: ScimRequestFacts
    org_id: int | None
    directory_pk: uuid.UUID | None
    when: datetime
    personal: bool
    count: int = 0  # > 0: an aggregated row of a throttled address
    since: float = field(default_factory=time.monotonic)


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


def _owner(
    directory_id: uuid.UUID, directory: ScimDirectory | None
) -> tuple[int | None, uuid.UUID | None]:
    if directory is not None:
        return directory.org_id, directory.pk
    org_id = _directory_org(directory_id)
    return org_id, directory_id if org_id is not None else None


def scim_request_record(
    *,
    facts: ScimRequestFacts,
    request_id: uuid.UUID,
    directory_id: uuid.UUID,
    directory: ScimDirectory | None = None,
    aggregate: bool = False,
) -> None:
    """Record one request to the SCIM URL of `directory_id` as the entry `request_id`
    (`directory`: the one whose token authenticated the request, whose org's setting
    decides whether personal values are masked; without it they always are). A
    request that did not authenticate looks its directory's org up once per process
    (none: logged for operators only).

    With `aggregate` (its address is under the failed-authentication throttle) the
    request is only counted: the count goes to its address's row of that minute every
    THROTTLED_FLUSH_SECONDS."""
    org_id, directory_pk = _owner(directory_id, directory)
    personal = directory is None or directory.org.request_log_masks_personal_data
    now = timezone.now()
    if aggregate:
        minute = now.replace(second=0, microsecond=0)
        key = (_address(facts.address), minute, directory_pk)
        with _state.lock:
            pending = _state.throttled.get(key)
            if pending is None:
                _state.throttled[key] = _Entry(
                    request_id, facts, org_id, directory_pk, minute, personal, count=1
                )
            else:
                pending.count += 1
        if settings.SCIM_REQUEST_LOG_FLUSH_MS <= 0:
            scim_requests_flush()
        else:
            _flusher_ensure()
        return
    entry = _Entry(request_id, facts, org_id, directory_pk, now, personal)
    if settings.SCIM_REQUEST_LOG_FLUSH_MS <= 0:
        insert(_row(entry))
        if _state.throttled:
            scim_requests_flush()
        return
    with _state.lock:
        if len(_state.entries) >= BUFFER_CAP:
            _state.dropped += 1
            return
        _state.entries.append(entry)
        waiting = len(_state.entries)
    _flusher_ensure()
    if waiting >= FLUSH_BATCH:
        _state.wake.set()


def _row(entry: _Entry) -> ScimRequest:
    facts = entry.facts
    aggregated = entry.count > 0
    group = "/Groups" in facts.path
    personal = entry.personal
    return ScimRequest(
        id=entry.id,
        org_id=entry.org_id,
        directory_id=entry.directory_pk,
        created_at=entry.when,
        method=facts.method[:10],
        path=facts.path[:500],
        query=query_mask(facts.query, personal=personal, group=group)[:2000],
        status=facts.status,
        scim_type=facts.scim_type[:40],
        detail=(detail_mask(facts.detail) if personal else facts.detail)[:1000],
        latency_ms=max(0, facts.latency_ms),
        client_address=_address(facts.address),
        user_agent=facts.user_agent[:255],
        idp=idp_from_user_agent(facts.user_agent),
        token_name=facts.token_name[:100],
        token_prefix=facts.token_prefix[:16],
        resource_type=facts.resource_type[:10],
        resource_id=facts.resource_id,
        # An aggregated row stands for many requests: it keeps none of their bodies.
        request_body=""
        if aggregated
        else body_mask(
            facts.request_body, personal=personal, group=group, known_json=facts.request_json
        ),
        response_body=""
        if aggregated
        else body_mask(facts.response_body, personal=personal, group=group, known_json=True),
        aggregated=aggregated,
        count=entry.count or 1,
    )


class _State:
    """This process's buffer and its flusher thread (made again in a forked child)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[_Entry] = []
        self.throttled: dict[tuple[str | None, datetime, uuid.UUID | None], _Entry] = {}
        self.dropped = 0
        self.wake = threading.Event()
        self.flusher: threading.Thread | None = None
        self.pid = os.getpid()


_state = _State()


def _after_fork() -> None:
    # What the parent buffered is the parent's to write.
    global _state
    _state = _State()


os.register_at_fork(after_in_child=_after_fork)


def _flusher_ensure() -> None:
    state = _state
    if state.flusher is not None and state.flusher.is_alive():
        return
    with state.lock:
        if state.flusher is None or not state.flusher.is_alive():
            state.flusher = threading.Thread(
                target=_flusher_run, args=(state,), name="provisioning-log", daemon=True
            )
            state.flusher.start()


def _flusher_run(state: _State) -> None:
    while state is _state:
        state.wake.wait(max(0.05, settings.SCIM_REQUEST_LOG_FLUSH_MS / 1000))
        state.wake.clear()
        try:
            close_old_connections()
            scim_requests_flush()
        except Exception:
            logger.exception("Could not write the provisioning log; will try again")


def scim_requests_flush(*, force: bool = False) -> int:
    """Write the buffered entries with one bulk INSERT, and the counts of throttled
    addresses that are due (all with `force`). Returns how many rows were written or
    added to. Run by the flusher thread, at exit, and by whoever needs the log
    complete now (a permanent deletion, a test)."""
    state = _state
    with state.lock:
        entries, state.entries = state.entries, []
        dropped, state.dropped = state.dropped, 0
        now, minute = time.monotonic(), timezone.now().replace(second=0, microsecond=0)
        due = [
            key
            for key, entry in state.throttled.items()
            if force or now - entry.since >= THROTTLED_FLUSH_SECONDS or key[1] != minute
        ]
        counted = [state.throttled.pop(key) for key in due]
    if dropped:
        logger.warning("The provisioning log dropped %d entries: its buffer was full", dropped)
    rows = []
    for entry in entries:
        try:
            rows.append(_row(entry))
        except Exception:
            logger.exception("Could not mask a SCIM request for the provisioning log")
    try:
        written = _rows_insert(rows)
    except (OperationalError, InterfaceError):
        with state.lock:  # the database is away: kept for the next flush, if there is room
            room = max(0, BUFFER_CAP - len(state.entries))
            state.entries[:0] = entries[:room]
            state.dropped += len(entries) - min(room, len(entries))
        raise
    for entry in counted:
        address = _address(entry.facts.address)
        updated = ScimRequest.objects.filter(
            aggregated=True,
            client_address=address,
            created_at=entry.when,
            directory_id=entry.directory_pk,
        ).update(count=F("count") + entry.count)
        if not updated:
            try:
                with transaction.atomic():
                    insert(_row(entry))
            except IntegrityError:  # its org was deleted since
                logger.info("Dropped the throttled count of a deleted org's directory")
    return written + len(counted)


def _rows_insert(rows: list[ScimRequest]) -> int:
    """One bulk INSERT of `rows`, less those of an org deleted since their request
    (and without the directory, when only it was deleted): two lookups a flush, and a
    second try when a deletion slips in between. Returns how many were written."""
    if not rows:
        return 0
    for attempt in (1, 2):
        orgs = set(Org.objects.filter(pk__in={r.org_id for r in rows}).values_list("pk", flat=True))
        directories = set(
            ScimDirectory.objects.filter(pk__in={r.directory_id for r in rows}).values_list(
                "pk", flat=True
            )
        )
        rows = [r for r in rows if r.org_id is None or r.org_id in orgs]
        for row in rows:
            if row.directory_id not in directories:
                row.directory_id = None
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    _copy(rows)
                else:
                    ScimRequest.objects.bulk_create(rows, batch_size=500)
            return len(rows)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0


_COPIED = list(ScimRequest._meta.concrete_fields)


def _copy(rows: list[ScimRequest]) -> None:
    """The rows with one COPY (Postgres): a fraction of an INSERT's cost on both sides,
    the web process's, which shares its CPU with the requests, and the database's."""
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in _COPIED)
    table = connection.ops.quote_name(ScimRequest._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([getattr(row, f.attname) for f in _COPIED])


def _flush_at_exit() -> None:
    try:
        scim_requests_flush(force=True)
    except Exception:
        logger.exception("Could not write the provisioning log at exit")


atexit.register(_flush_at_exit)


def scim_requests_forget_user(*, user: EndUser) -> int:
    """Mask the personal values of a user who is deleted permanently in the org's log
    entries about them: those naming the user's id, or their userName in a body, the
    query or the reason. Call it inside the deletion's transaction. Entries this
    process still buffers are masked as they wait (another process's, of its last
    second, are not). Returns how many written entries it changed."""
    name = user.user_name
    encoded = name.encode() if name else None
    with _state.lock:
        for entry in _state.entries:
            facts = entry.facts
            if facts.resource_id == user.pk or (
                encoded is not None
                and (
                    encoded in facts.request_body
                    or encoded in facts.response_body
                    or name in facts.query
                    or name in facts.detail
                )
            ):
                entry.personal = True
    about = Q(resource_id=user.pk)
    if name:
        about |= (
            Q(request_body__contains=name)
            | Q(response_body__contains=name)
            | Q(query__contains=name)
            | Q(detail__contains=name)
        )
    rows = list(ScimRequest.objects.filter(about, org_id=user.org_id))
    for row in rows:
        group = "/Groups" in row.path
        row.request_body = body_mask(row.request_body, personal=True, group=group)
        row.response_body = body_mask(row.response_body, personal=True, group=group)
        row.query = query_mask(row.query, personal=True, group=group)
        row.detail = detail_mask(row.detail)
        if name:  # wherever else it appears (a cut body, a filter without quotes)
            for column in ("request_body", "response_body", "query", "detail"):
                setattr(row, column, getattr(row, column).replace(name, "***"))
    ScimRequest.objects.bulk_update(
        rows, ["request_body", "response_body", "query", "detail"], batch_size=500
    )
    return len(rows)


def scim_requests_prune(*, now: datetime | None = None) -> int:
    """Delete each org's log entries older than its retention days, and those of URLs
    naming no directory older than UNKNOWN_DIRECTORY_RETENTION_DAYS; returns how many.
    Org by org, in batches of their own transactions (directory.batches)."""
    now = now or timezone.now()
    deleted = delete_batched(
        ScimRequest.objects.filter(
            org__isnull=True,
            created_at__lt=now - timedelta(days=UNKNOWN_DIRECTORY_RETENTION_DAYS),
        ),
        order=["created_at"],
    )
    for org_id, days in Org.objects.values_list("pk", "request_log_retention_days"):
        deleted += delete_batched(
            ScimRequest.objects.filter(org_id=org_id, created_at__lt=now - timedelta(days=days)),
            order=["-created_at"],
        )
    return deleted
