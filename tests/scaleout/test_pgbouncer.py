"""The app through PgBouncer in transaction mode (docs/scaling.md): a gunicorn node, the
webhook deliveries and the operator's commands share two server connections, and the
SCIM flows, the change feed and the deliveries behave as on a direct connection."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_port
from tests.scaleout.conftest import ROOT, Cluster, Node, orgs_setup
from tests.webhooks.conftest import Receiver, receiver  # noqa: F401 (a fixture)

PGBOUNCER = Path("/usr/sbin/pgbouncer")
pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not PGBOUNCER.exists(), reason="needs pgbouncer (.ci/system-packages.sh installs it)"
    ),
]
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Fewer server connections than the node has workers and the test has threads: every
# transaction may land on another server connection than the one before it.
POOL_SIZE = 2


@pytest.fixture(scope="module")
def bouncer(cluster: Cluster) -> Iterator[dict[str, str]]:
    """PgBouncer in transaction mode in front of the cluster's Postgres; yields the
    environment of a process that reaches the database through it only."""
    port = free_port()
    (cluster.tmp / "userlist.txt").write_text('"postgres" ""\n')
    ini = cluster.tmp / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
commandcenter = host=127.0.0.1 port={cluster.pg_port} dbname=commandcenter user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {cluster.tmp / "userlist.txt"}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 200
logfile = {cluster.tmp / "pgbouncer.log"}
"""
    )
    # PgBouncer refuses to run as root, as Postgres does.
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    process = subprocess.Popen([*as_pg, str(PGBOUNCER), str(ini)], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/commandcenter",
            "DISABLE_SERVER_SIDE_CURSORS": "true",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
        print((cluster.tmp / "pgbouncer.log").read_text()[-3000:])


@pytest.fixture(scope="module")
def node(cluster: Cluster, bouncer: dict[str, str]) -> Node:
    n = cluster.node(workers=3, env=bouncer)
    wait_port(n.port)
    return n


def test_scim_and_webhooks_work_through_pgbouncer_in_transaction_mode(
    cluster: Cluster,
    bouncer: dict[str, str],
    node: Node,
    receiver: Receiver,  # noqa: F811
) -> None:
    org = orgs_setup(cluster, {"pooled": 1})["pooled"]
    auth = {"Authorization": f"Bearer {org['tokens'][0]}"}
    base = node.url + org["scim"]

    def create(n: int) -> httpx.Response:
        body = {
            "userName": f"u{n % 20}@pooled.example",
            "name": {"givenName": "U", "familyName": str(n)},
        }
        return httpx.post(base + "/Users", json=body, headers=auth, timeout=20)

    api = {"Authorization": f"Bearer {org['api_key']}"}
    hook = httpx.post(
        f"{node.url}/api/v1/orgs/pooled/webhooks/", json={"url": receiver.url}, headers=api
    )
    assert hook.status_code == 201, hook.text
    # 20 users, each created twice at once: one 201 and one 409 uniqueness per userName
    # (the constraint's error rolls back a savepoint inside the request's transaction).
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(r.status_code for r in pool.map(create, range(40)))
    assert statuses == [201] * 20 + [409] * 20
    # The same statement many times (where a server-side prepared statement would be made
    # by a driver that prepares, and fail on the next server connection).
    for n in range(12):
        r = httpx.get(
            base + "/Users", params={"filter": f'userName eq "u{n}@pooled.example"'}, headers=auth
        )
        assert r.status_code == 200 and r.json()["totalResults"] == 1, r.text
    users = [
        u["id"] for u in httpx.get(base + "/Users?count=100", headers=auth).json()["Resources"]
    ]
    group = httpx.post(base + "/Groups", json={"displayName": "All"}, headers=auth).json()["id"]
    add = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": u} for u in users]}],
    }
    assert httpx.patch(f"{base}/Groups/{group}", json=add, headers=auth).status_code in (200, 204)
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert httpx.patch(f"{base}/Users/{users[0]}", json=off, headers=auth).status_code == 200

    # The change feed reads a snapshot's horizon, then the events below it.
    feed = httpx.get(f"{node.url}/api/v1/orgs/pooled/changes/?limit=500", headers=api)
    assert feed.status_code == 200, feed.text
    types = [c["type"] for c in feed.json()["results"]]
    assert types.count("user.created") == 20 and "group.members_added" in types, types

    # Two delivery runs at once, each in its own process through the pooler: the lease
    # keeps them off each other's endpoint, and every change arrives once.
    deliver = "from webhooks.delivery import deliveries_run; print(deliveries_run())"
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", deliver],
            cwd=ROOT,
            env=cluster.env | bouncer,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
    # Every change since the endpoint was added (all but the directory's enabling), once.
    expected = Counter(types) - Counter(["directory.enabled"])
    assert Counter(receiver.types) == expected
    assert len({d.id for d in receiver.deliveries}) == len(receiver.deliveries)

    # An operator command, through the pooler too.
    assert "t0" in cluster.manage("scim", "token", "list", "pooled", env=bouncer)


# A streamed read (QuerySet.iterator(), as the CSV exports do) while another client's
# transaction takes the server connection the read's first fetch ran on: PgBouncer gives
# a client the server connection released last, so the next fetch runs on the other one.
STREAMED_READ = """
import json, os, psycopg
from django.db import connection
from directory.models import Org
url = os.environ["DATABASE_URL"]
warm = [psycopg.connect(url) for _ in range(2)]
for c in warm:
    c.execute("SELECT 1")  # both server connections in use at once: both exist
for c in warm:
    c.rollback()
rows = Org.objects.values_list("slug", flat=True).iterator(chunk_size=1)
seen = [next(rows)]
other = warm[0]
other.execute("SELECT 1")  # holds the server connection of that first fetch
try:
    seen += list(rows)
    print(json.dumps(len(seen)))
except Exception as e:
    print(json.dumps(type(e).__name__))
finally:
    other.rollback()
"""


def test_a_streamed_read_needs_server_side_cursors_off_behind_pgbouncer(
    cluster: Cluster, bouncer: dict[str, str]
) -> None:
    orgs_setup(cluster, {"streamed-1": 0, "streamed-2": 0})
    orgs = cluster.sql("SELECT count(*) FROM directory_org")[0][0]
    assert cluster.shell(STREAMED_READ, env=bouncer) == orgs
    on = bouncer | {"DISABLE_SERVER_SIDE_CURSORS": "false"}
    assert cluster.shell(STREAMED_READ, env=on) == "InvalidCursorName"
