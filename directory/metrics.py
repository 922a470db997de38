"""What operators scrape at /metrics: the counters the web path moves, and the counts
the Celery worker keeps where the web can read them. commandcenter.metrics serves them.

The web's counters are prometheus-client metrics. Under gunicorn each worker process
writes them to files in PROMETHEUS_MULTIPROC_DIR (commandcenter.gunicorn_conf sets it
up), which the scrape adds up; without it (tests, a plain `manage.py runserver`) they
are the process's own. Labels are bounded on purpose: a method, a status code, an
outcome, a reason; never an org, a token or a path.

The worker's counts (task outcomes, summary emails) are rare events in other processes:
each one is a HINCRBY on Redis (REDIS_URL), read at scrape time. Embedded (no Redis)
they are counted in the process that ran the task.

This module sits in the lowest layer so that the SCIM gate, the Celery signals and the
summaries can all count without importing upwards."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from typing import Any

from django.conf import settings
from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

SCIM_REQUESTS = Counter(
    "commandcenter_scim_requests",
    "SCIM requests answered, by method, status code and outcome",
    ["method", "status", "outcome"],
)
SCIM_DURATION = Histogram(
    "commandcenter_scim_request_duration_seconds",
    "Time the SCIM gate took to answer a request, by method",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SCIM_RATE_LIMITED = Counter(
    "commandcenter_scim_rate_limited",
    "SCIM requests refused with 429, by the limit that refused them",
    ["limit"],
)
SCIM_AUTH_FAILURES = Counter(
    "commandcenter_scim_auth_failures",
    "SCIM requests refused with 401, by reason",
    ["reason"],
)

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# The labelled children of each (method, status) seen: labels() costs more than the
# observation itself. Bounded as the labels are.
_children: dict[tuple[str, int], tuple[Any, Any]] = {}


def scim_outcome(status: int) -> str:
    if status < 400:
        return "success"
    if status == 401:
        return "unauthenticated"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "error"
    return "failure"


def scim_request_observe(
    *, method: str, status: int, seconds: float, auth_failure: str = "", limit: str = ""
) -> None:
    """Count one answered SCIM request: a couple of in-memory (or mmap-file) writes, no
    network round trip. `auth_failure` names why a 401 was given, `limit` which limit a
    429 came from."""
    if method not in _METHODS:
        method = "OTHER"
    children = _children.get((method, status))
    if children is None:
        children = (
            SCIM_REQUESTS.labels(method, str(status), scim_outcome(status)),
            SCIM_DURATION.labels(method),
        )
        _children[(method, status)] = children
    children[0].inc()
    children[1].observe(seconds)
    if auth_failure:
        SCIM_AUTH_FAILURES.labels(auth_failure).inc()
    if limit:
        SCIM_RATE_LIMITED.labels(limit).inc()


# The worker's counts ----------------------------------------------------------------

_KEY = "commandcenter:metrics:"
_local: dict[str, Tally[str]] = {}
_clients: dict[str, Any] = {}


def _redis() -> Any:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        _clients[url] = client
    return client


def shared_count(name: str, field: str, amount: int = 1) -> None:
    """Add `amount` to the field of the named count, where /metrics of any web process
    reads it. A Redis failure is logged and costs only the count."""
    if not settings.REDIS_URL:
        _local.setdefault(name, Tally())[field] += amount
        return
    try:
        _redis().hincrby(_KEY + name, field, amount)
    except Exception:
        logger.warning("Could not count %s %s for /metrics", name, field)


def shared_counts(name: str) -> dict[str, int]:
    """The fields of the named count and their values so far."""
    if not settings.REDIS_URL:
        return dict(_local.get(name, {}))
    raw = _redis().hgetall(_KEY + name)
    return {k.decode(): int(v) for k, v in raw.items()}


def broker_queue_depths(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue on the Redis broker, in one round trip.
    kombu keeps a queue's messages of higher priorities in lists of their own."""
    steps = ("", "\x06\x163", "\x06\x166", "\x06\x169")
    pipe = _redis().pipeline(transaction=False)
    for queue in queues:
        for step in steps:
            pipe.llen(queue + step)
    lengths = pipe.execute()
    return {
        queue: sum(lengths[i * len(steps) : (i + 1) * len(steps)]) for i, queue in enumerate(queues)
    }
