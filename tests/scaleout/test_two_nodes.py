"""Two app nodes (separate gunicorn processes, 2 workers each) behind one Postgres and
one Redis, and two Celery workers with two beats: what one node does, the other sees at
once, the rate limits count across both, and each summary and webhook goes out once."""

from __future__ import annotations

import email
import email.policy
import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_port
from tests.scaleout.conftest import Cluster, Node, orgs_setup, wait_for
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.scaleout

SCIM_JSON = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PER_TOKEN, PER_ORG = 6, 9


def _pair(cluster: Cluster, env: dict[str, str] | None = None) -> tuple[Node, Node]:
    a, b = cluster.node(env=env), cluster.node(env=env)
    wait_port(a.port)
    wait_port(b.port)
    return a, b


@pytest.fixture(scope="module")
def nodes(cluster: Cluster) -> tuple[Node, Node]:
    return _pair(cluster)


@pytest.fixture(scope="module", autouse=True)
def _boot_first(workers: None, nodes: Any, limited: Any) -> None:
    """Every process of the module starts booting at once (each imports Django), before
    the orgs are made."""


@pytest.fixture(scope="module")
def orgs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    # Every test's org, made at once (each shell is a Django start).
    counts = {"revoke": 1, "ratelimit": 2, "changes": 1, "digest-one": 1, "digest-two": 1}
    return orgs_setup(cluster, counts)


@pytest.fixture(scope="module")
def limited(cluster: Cluster) -> tuple[Node, Node]:
    """Two nodes with low rate limits (per token and per org, in requests a second)."""
    return _pair(
        cluster, {"SCIM_RATE_PER_TOKEN": str(PER_TOKEN), "SCIM_RATE_PER_ORG": str(PER_ORG)}
    )


def scim(node: Node, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    # A new connection each time, so the requests spread over the node's workers.
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    return httpx.request(method, node.url + path, headers=headers, json=body, timeout=10)


def assert_scim_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(SCIM_JSON)
    assert r.json()["schemas"] == [ERROR] and r.json()["status"] == str(status)


def test_a_token_revoked_through_one_node_is_refused_by_the_other_at_once(
    cluster: Cluster, orgs: dict[str, Any], nodes: tuple[Node, Node]
) -> None:
    a, b = nodes
    org = orgs["revoke"]
    token = org["tokens"][0]
    before = set(cluster.redis_keys("*scimtoken:*"))
    for _ in range(4):  # both of B's workers authenticate it, and Redis caches it
        assert scim(b, token, "GET", org["scim"] + "/Users?count=1").status_code == 200
    cached = set(cluster.redis_keys("*scimtoken:*")) - before
    assert len(cached) == 1
    revoked = httpx.post(
        f"{a.url}/api/v1/orgs/revoke/scim/tokens/{org['token_ids'][0]}/revoke/",
        headers={"Authorization": f"Bearer {org['api_key']}"},
    )
    assert revoked.status_code == 200, revoked.text
    assert not cached & set(cluster.redis_keys("*scimtoken:*"))
    for _ in range(4):
        assert_scim_error(scim(b, token, "GET", org["scim"] + "/Users?count=1"), 401)


def _in_one_second(requests: list[tuple[Node, str]], path: str) -> list[httpx.Response]:
    """GET `path` once per (node, token), all at once, within one rate window (a second,
    whose counters are its own): started just past a second's start, and tried again in a
    later second if any answer came after its end (a busy machine)."""
    for _ in range(5):
        time.sleep(math.ceil(time.time()) - time.time() + 0.01)
        window = int(time.time())
        with ThreadPoolExecutor(len(requests)) as pool:
            responses = list(pool.map(lambda r: scim(r[0], r[1], "GET", path), requests))
        if int(time.time()) == window:
            return responses
    raise AssertionError("the requests never fitted in one second")


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    for r in responses:
        if r.status_code == 429:
            assert_scim_error(r, 429)
    return Counter(r.status_code for r in responses)


def test_the_rate_limits_count_the_requests_of_both_nodes(
    orgs: dict[str, Any], limited: tuple[Node, Node]
) -> None:
    a, b = limited
    org = orgs["ratelimit"]
    first, second = org["tokens"]
    users = org["scim"] + "/Users?count=1"
    for node in limited:  # each node's workers have seen both tokens once
        for token in org["tokens"]:
            assert scim(node, token, "GET", users).status_code == 200

    # One token, half its requests to A and half to B: PER_TOKEN in all, then 429.
    one_token = [((a, b)[n % 2], first) for n in range(PER_TOKEN + 4)]
    assert _statuses(_in_one_second(one_token, users)) == {200: PER_TOKEN, 429: 4}

    # Both tokens of the org, on both nodes, each under its own limit: PER_ORG in all.
    both = [((a, b)[n % 2], (first, second)[n // 2 % 2]) for n in range(PER_ORG + 3)]
    assert _statuses(_in_one_second(both, users)) == {200: PER_ORG, 429: 3}


def test_a_change_made_through_one_node_is_read_by_the_other_at_once(
    orgs: dict[str, Any], nodes: tuple[Node, Node]
) -> None:
    a, b = nodes
    org = orgs["changes"]
    token, base = org["tokens"][0], org["scim"]
    created = scim(
        a,
        token,
        "POST",
        base + "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@changes.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "active": True,
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()["id"]
    found = scim(b, token, "GET", base + '/Users?filter=userName eq "ada@changes.example"')
    assert [r["id"] for r in found.json()["Resources"]] == [user]

    def replace(op_path: str, value: Any) -> dict[str, Any]:
        return {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": op_path, "value": value}],
        }

    renamed = scim(a, token, "PATCH", f"{base}/Users/{user}", replace("name.givenName", "Augusta"))
    assert renamed.status_code == 200, renamed.text
    assert scim(b, token, "GET", f"{base}/Users/{user}").json()["name"]["givenName"] == "Augusta"

    group = scim(a, token, "POST", base + "/Groups", {"displayName": "Engineers"})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    added = scim(
        a,
        token,
        "PATCH",
        f"{base}/Groups/{group_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
        },
    )
    assert added.status_code in (200, 204), added.text
    members = scim(b, token, "GET", f"{base}/Groups/{group_id}").json()["members"]
    assert [m["value"] for m in members] == [user]

    off = scim(a, token, "PATCH", f"{base}/Users/{user}", replace("active", False))
    assert off.status_code == 200, off.text
    assert scim(b, token, "GET", f"{base}/Users/{user}").json()["active"] is False


@pytest.fixture(scope="module")
def workers(cluster: Cluster) -> None:
    """Two Celery workers, as docker-compose runs them (prefork), started with the
    module so they are up by the time the beats queue work."""
    for _ in range(2):
        cluster.celery("worker", "-l", "info", "--concurrency", "2", "--without-mingle")


def beats(cluster: Cluster) -> float:
    """Start two beats whose clocks start LEAD seconds before an hour's start: both
    dispatch the summaries LEAD seconds from now, which is returned (a Unix time). Their
    other jobs run at their times too (webhooks every 5 s)."""
    clock = (math.floor(time.time() / 3600) + 1) * 3600 - LEAD
    for _ in range(2):
        cluster.beat(clock=clock)
    return time.time() + LEAD


# Long enough for a beat to start (import Django, read its schedule) before its minute 0.
LEAD = 8.0


def _emails(outbox: Path) -> list[email.message.Message]:
    # The file backend writes each connection's messages to one file, each followed by a
    # line of 79 dashes.
    messages: list[email.message.Message] = []
    for path in sorted(outbox.iterdir()) if outbox.exists() else []:
        for part in path.read_text().split("-" * 79 + "\n"):
            if part.strip():
                messages.append(email.message_from_string(part, policy=email.policy.default))
    return messages


def test_two_workers_and_two_beats_send_each_summary_and_webhook_once(
    cluster: Cluster,
    orgs: dict[str, Any],
    nodes: tuple[Node, Node],
    receiver: Receiver,  # noqa: F811
) -> None:
    hook = httpx.post(
        f"{nodes[0].url}/api/v1/orgs/digest-one/webhooks/",
        headers={"Authorization": f"Bearer {orgs['digest-one']['api_key']}"},
        json={"url": receiver.url},
    )
    assert hook.status_code == 201, hook.text
    for slug in ("digest-one", "digest-two"):
        org = orgs[slug]
        for m, node in enumerate(nodes):
            body = {
                "userName": f"user{m}@{slug}.example",
                "name": {"givenName": "U", "familyName": str(m)},
            }
            r = scim(node, org["tokens"][0], "POST", org["scim"] + "/Users", body)
            assert r.status_code == 201, r.text
    # The provisioning events just written, moved into the hour before this one: the
    # workers' clocks are real, so the hour the beats' next dispatch finds due is that.
    cluster.sql(
        "UPDATE directory_provisioningevent SET created_at = "
        "date_trunc('hour', now()) - interval '30 minutes' "
        "WHERE org_id IN (SELECT id FROM directory_org WHERE slug LIKE 'digest-%')"
    )
    started = time.monotonic()
    outbox = Path(cluster.env["EMAIL_FILE_PATH"])
    dispatch_at = beats(cluster)
    # 2 users in digest-one: user.created and seat.assigned each.
    wait_for(lambda: len(receiver.deliveries) >= 4, 40, "the webhook deliveries")

    def to_us() -> list[email.message.Message]:
        return [m for m in _emails(outbox) if "digest-" in str(m["To"])]

    wait_for(lambda: len(to_us()) >= 2, max(40, dispatch_at - time.time() + 30), "the summaries")
    # Both beats have dispatched, every queued send has run; a few more delivery runs.
    time.sleep(5.5)
    assert Counter(str(m["To"]) for m in to_us()) == {
        "admin@digest-one.example": 1,
        "admin@digest-two.example": 1,
    }
    ids = Counter(d.id for d in receiver.deliveries)
    assert len(ids) == 4 and set(ids.values()) == {1}, ids
    assert sorted(receiver.types) == ["seat.assigned"] * 2 + ["user.created"] * 2
    sends = cluster.sql(
        "SELECT count(*), sum(attempts) FROM directory_summarylog l JOIN directory_org o "
        "ON o.id = l.org_id WHERE o.slug LIKE 'digest-%' AND l.sent_at IS NOT NULL"
    )
    assert sends == [(2, 2)]
    assert time.monotonic() - started < 60
