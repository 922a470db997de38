"""Faults against the real production setup: gunicorn, Postgres and Redis processes of the
test's own, on 127.0.0.1. Postgres stops and restarts during a sync; Redis goes away; a
worker is killed in the middle of a large membership PATCH."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
pytestmark = pytest.mark.reliability


def _stop(process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Wait for a process told to stop; kill it if it will not."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Stack:
    tmp: Path
    pg_port: int
    redis_port: int
    web_port: int
    env: dict[str, str]
    as_pg: list[str]
    web: subprocess.Popen[bytes] | None = None
    redis: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None

    @property
    def db_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/commandcenter"

    def pg(self, action: str) -> None:
        args = [str(PG_BIN / "pg_ctl"), "-D", str(self.tmp / "pg"), "-w", "-s"]
        if action == "start":
            args += [
                "-l",
                str(self.tmp / "pg.log"),
                "-o",
                f"-h 127.0.0.1 -p {self.pg_port} -k {self.tmp}",
            ]
        else:
            args += ["-m", "fast"]
        subprocess.run([*self.as_pg, *args, action], check=True)

    def manage(self, *args: str) -> str:
        r = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "commandcenter.wsgi:application",
                "-c", "python:commandcenter.gunicorn_conf",  # as the image serves it
                "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2", "--timeout", "30",
            ],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.web_port)

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.redis_port)

    def stop_redis(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            _stop(self.redis)

    def restart_redis(self) -> None:
        """A Redis restart without persistence: whatever was queued in it is gone."""
        self.stop_redis()
        self.start_redis()

    def stop_web(self) -> None:
        if self.web is not None and self.web.poll() is None:
            self.web.send_signal(signal.SIGTERM)
            _stop(self.web)

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            _stop(self.worker)

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "commandcenter", "worker",
                "--pool", "solo", "--without-heartbeat", "--without-gossip",
                "--without-mingle", "-l", "warning",
            ],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def worker_pids(self) -> list[int]:
        assert self.web is not None
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.web.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]


# This process's first stack leaves a copy of its migrated, stopped data directory here;
# the next stacks start from a copy of it instead of initdb and the migrations again.
_MIGRATED: list[Path] = []


def _migrated_copy(tmp: Path, as_pg: list[str]) -> None:
    template = Path(tempfile.mkdtemp(prefix="cc-faults-migrated-"))
    atexit.register(shutil.rmtree, template, ignore_errors=True)
    if as_pg:
        shutil.chown(template, "postgres")
    subprocess.run([*as_pg, "cp", "-a", str(tmp / "pg"), str(template / "pg")], check=True)
    _MIGRATED.append(template / "pg")


@pytest.fixture
def stack() -> Iterator[Stack]:
    # Each stop is registered as soon as its service has started, so a set-up that fails
    # part way (a missing redis-server, a migration error) leaves nothing running.
    with contextlib.ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="cc-faults-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        as_pg: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root
            shutil.chown(tmp, "postgres")
            as_pg = ["runuser", "-u", "postgres", "--"]
        fresh = not _MIGRATED
        if fresh:
            initdb = [
                str(PG_BIN / "initdb"),
                "-D",
                str(tmp / "pg"),
                "-U",
                "postgres",
                "-A",
                "trust",
            ]
            subprocess.run([*as_pg, *initdb, "--no-sync"], check=True, capture_output=True)
        else:
            subprocess.run([*as_pg, "cp", "-a", str(_MIGRATED[0]), str(tmp / "pg")], check=True)
        s = Stack(tmp, free_port(), free_port(), free_port(), {}, as_pg)
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(tmp / "pg"), "-m", "immediate", "-s"]
        cleanup.callback(subprocess.run, [*as_pg, *pg_ctl, "stop"], capture_output=True)
        s.pg("start")
        if fresh:
            createdb = [
                str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(s.pg_port), "-U", "postgres"
            ]  # fmt: skip
            subprocess.run([*createdb, "commandcenter"], check=True)
        cleanup.callback(s.stop_redis)
        s.start_redis()
        cleanup.callback(s.stop_worker)
        cleanup.callback(s.stop_web)
        s.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DATABASE_URL": s.db_url,
            "REDIS_URL": f"redis://127.0.0.1:{s.redis_port}/0",
            "SECRET_KEY": "faults-test-secret-key-not-for-production-0123456789abcdef",
            "SITE_URL": f"http://127.0.0.1:{s.web_port}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DB_CONNECT_TIMEOUT": "2",
            "SCIM_RATE_PER_TOKEN": "100000",
            "SCIM_RATE_PER_ORG": "100000",
        }
        if fresh:
            s.manage("migrate", "-v0")
            s.pg("stop")
            _migrated_copy(tmp, as_pg)
            s.pg("start")
        yield s


# The documented set-up commands, in one process: each start of manage.py costs a second
# or more, several beside the suite's other tests.
_SETUP = """
from django.core.management import call_command
call_command("org", "create", "acme", "--name", "Acme")
call_command("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
call_command("scim", "enable", "acme")
call_command("scim", "token", "issue", "acme", "--json")
"""


def _scim(stack: Stack) -> tuple[str, dict[str, str]]:
    issued = json.loads(stack.manage("shell", "-c", _SETUP).strip().splitlines()[-1])
    return issued["base_url"], {"Authorization": f"Bearer {issued['token']}"}


def _user(name: str) -> dict[str, object]:
    return {"userName": name, "emails": [{"value": name, "type": "work"}], "active": True}


def _rows(stack: Stack, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(stack.db_url) as conn:
        return list(conn.execute(sql).fetchall())


def test_a_postgres_outage_gets_503s_and_the_service_recovers_by_itself(stack: Stack) -> None:
    base, auth = _scim(stack)
    stack.start_web()
    acknowledged: list[str] = []
    with httpx.Client(headers=auth, timeout=15) as client:
        for i in range(20):
            r = client.post(f"{base}/Users", json=_user(f"before{i}@acme.example"))
            assert r.status_code == 201
            acknowledged.append(f"before{i}@acme.example")
        stack.pg("stop")
        during = []
        for i in range(10):
            started = time.monotonic()
            r = client.post(f"{base}/Users", json=_user(f"during{i}@acme.example"))
            during.append((r.status_code, time.monotonic() - started, r))
        for status, seconds, r in during:
            assert status == 503, r.text
            assert r.headers["Retry-After"] and r.json()["status"] == "503"
            assert seconds < 10
        stack.pg("start")
        recovered = None
        for i in range(50):
            r = client.post(f"{base}/Users", json=_user(f"after{i}@acme.example"))
            if r.status_code == 201:
                acknowledged.append(f"after{i}@acme.example")
                recovered = recovered if recovered is not None else i
            time.sleep(0.1)
        assert recovered is not None and recovered < 10
    stored = {row[0] for row in _rows(stack, "SELECT user_name FROM directory_enduser")}
    assert set(acknowledged) <= stored
    assert not any(str(name).startswith("during") for name in stored)


def test_connections_the_server_ended_are_replaced_before_the_next_request_uses_them(
    stack: Stack,
) -> None:
    # As after a failover or a restart between two requests: every web worker's
    # persistent connection is ended by the server while idle. The health check sees it
    # and reconnects, so no request fails (commandcenter/postgresql).
    base, auth = _scim(stack)
    stack.start_web()
    with httpx.Client(headers=auth, timeout=15) as client:
        for i in range(6):
            assert client.post(f"{base}/Users", json=_user(f"a{i}@acme.example")).status_code == 201
        for _ in range(3):
            ended = _rows(
                stack,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'commandcenter' AND pid <> pg_backend_pid()",
            )
            assert ended  # the workers' connections, and the log writer's
            time.sleep(0.2)  # the goodbye reaches the workers' sockets
            statuses = [
                client.get(f'{base}/Users?filter=userName eq "a{i}@acme.example"').status_code
                for i in range(6)
            ]
            assert statuses == [200] * 6


def test_scim_keeps_serving_while_redis_is_down(stack: Stack) -> None:
    base, auth = _scim(stack)
    stack.start_web()
    with httpx.Client(headers=auth, timeout=15) as client:
        assert client.get(f"{base}/Users").status_code == 200
        stack.stop_redis()
        for i in range(5):
            r = client.post(f"{base}/Users", json=_user(f"noredis{i}@acme.example"))
            assert r.status_code == 201, r.text
        assert client.get(f"{base}/Users").json()["totalResults"] == 5


def test_a_worker_killed_mid_patch_leaves_all_or_nothing(stack: Stack) -> None:
    base, auth = _scim(stack)
    stack.start_web()
    with httpx.Client(headers=auth, timeout=60) as client:
        # 3,000 creates from 8 clients at once (one after the other took a minute).
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = pool.map(
                lambda i: client.post(f"{base}/Users", json=_user(f"m{i}@acme.example")),
                range(3000),
            )
            ids = [r.json()["id"] for r in created]
        group = client.post(f"{base}/Groups", json={"displayName": "Big"}).json()["id"]
    body = {
        "Operations": [{"op": "replace", "path": "members", "value": [{"value": i} for i in ids]}]
    }
    outcome: dict[str, object] = {}

    def push() -> None:
        try:
            r = httpx.patch(
                f"{base}/Groups/{group}?excludedAttributes=members",
                json=body,
                headers=auth,
                timeout=60,
            )
            outcome["status"] = r.status_code
        except httpx.HTTPError as e:
            outcome["error"] = repr(e)

    for attempt in range(5):
        thread = threading.Thread(target=push)
        thread.start()
        time.sleep(0.05 + 0.03 * attempt)
        for pid in stack.worker_pids():
            os.kill(pid, signal.SIGKILL)
        thread.join()
        if "error" in outcome:
            break
        outcome.clear()
        _rows(stack, "SELECT 1")
    count = _rows(stack, f"SELECT count(*) FROM directory_membership WHERE group_id = '{group}'")[
        0
    ][0]
    events = _rows(
        stack, "SELECT count(*) FROM directory_provisioningevent WHERE action = 'group_members'"
    )[0][0]
    print(f"kill attempts {attempt + 1}, outcome {outcome}, members {count}, events {events}")
    # The PATCH either committed whole (members and its event) or left nothing.
    assert (count, events) in {(0, 0), (3000, 1)}
    if outcome.get("status") == 200:
        assert count == 3000
    # gunicorn's master replaces the killed workers; the service goes on.
    wait_port(stack.web_port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(
                    f"{base}/Groups/{group}?excludedAttributes=members", headers=auth
                ).status_code
                == 200
            ):
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        pytest.fail("the service did not come back after its workers were killed")


def test_workers_killed_during_a_sync_lose_no_acknowledged_user_and_half_create_none(
    stack: Stack,
) -> None:
    """An Okta-style sync (filtered GET, then POST) by 8 clients that retry on a broken
    connection, as IdPs do, while web workers are SIGKILLed every few tenths of a second."""
    base, auth = _scim(stack)
    stack.start_web()
    names = [f"sync{i}@acme.example" for i in range(400)]
    acknowledged: set[str] = set()
    broken = 0
    lock = threading.Lock()

    def provision(chunk: list[str]) -> None:
        nonlocal broken
        with httpx.Client(headers=auth, timeout=30) as client:
            for name in chunk:
                for _ in range(50):
                    try:
                        found = client.get(f'{base}/Users?filter=userName eq "{name}"').json()
                        if found["totalResults"] == 0:
                            r = client.post(f"{base}/Users", json=_user(name))
                            assert r.status_code in (201, 409), r.text
                        with lock:
                            acknowledged.add(name)
                        break
                    except httpx.HTTPError:
                        with lock:
                            broken += 1
                        time.sleep(0.1)

    threads = [threading.Thread(target=provision, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    kills = 0
    # At least 6 kills, and more until one has broken a request off in the middle. Each
    # victim is drawn at random: in turn, on a loaded machine, the kills could keep landing
    # on the replacement worker still booting while the other served every request.
    rand = random.Random(0)
    while any(t.is_alive() for t in threads) and (kills < 6 or not broken) and kills < 60:
        time.sleep(0.3)
        pids = stack.worker_pids()
        if pids:
            os.kill(rand.choice(pids), signal.SIGKILL)
            kills += 1
    for t in threads:
        t.join(timeout=120)
    print(f"{kills} workers killed, {broken} requests broken off and retried")
    assert kills >= 3 and broken > 0
    # Every user the IdP saw acknowledged is stored, each whole: its email row and its
    # one create event; the seat counter agrees with the users holding a seat.
    stored = {str(r[0]) for r in _rows(stack, "SELECT user_name FROM directory_enduser")}
    assert acknowledged == set(names) and stored == set(names)
    incomplete = _rows(
        stack,
        "SELECT u.user_name FROM directory_enduser u WHERE NOT EXISTS "
        "(SELECT 1 FROM directory_useremail e WHERE e.user_id = u.id) OR 1 <> "
        "(SELECT count(*) FROM directory_provisioningevent v "
        " WHERE v.resource_id = u.id AND v.action = 'user_create')",
    )
    assert incomplete == []
    seats = _rows(
        stack,
        "SELECT o.seats_used, (SELECT count(*) FROM directory_enduser u "
        "WHERE u.org_id = o.id AND u.has_seat) FROM directory_org o WHERE o.slug = 'acme'",
    )
    assert seats[0][0] == seats[0][1]


def test_summaries_survive_a_redis_outage_and_go_out_exactly_once(stack: Stack) -> None:
    """Redis loses the queued sends (it keeps nothing on disk), then is down while the
    hourly dispatch runs; once it is back, one dispatch sends each summary, and any
    number of dispatches after that send nothing more."""
    base, auth = _scim(stack)
    stack.manage("org", "admin", "add", "acme", "alice@acme.example")
    stack.start_web()
    with httpx.Client(headers=auth, timeout=15) as client:
        assert client.post(f"{base}/Users", json=_user("u@acme.example")).status_code == 201
    # The event belongs to the hour that has just ended: its summary is due.
    _rows(
        stack,
        "UPDATE directory_provisioningevent SET created_at = "
        "date_trunc('hour', now()) - interval '30 minutes' RETURNING 1",
    )
    outbox = stack.tmp / "outbox"
    stack.env.update(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(outbox),
    )
    dispatch = ["shell", "-c", "from directory.tasks import summaries_dispatch as d; d.delay()"]

    def sent() -> list[Path]:
        return sorted(outbox.iterdir()) if outbox.exists() else []

    # 1. Queued while no worker runs, then lost with Redis.
    stack.manage(*dispatch)
    stack.restart_redis()
    # 2. Redis down while the hour's dispatch runs: it fails, nothing is claimed.
    stack.stop_redis()
    r = subprocess.run(
        [sys.executable, "manage.py", *dispatch], cwd=ROOT, env=stack.env, capture_output=True
    )
    assert r.returncode != 0  # the broker is unreachable: the caller hears of it
    assert _rows(stack, "SELECT count(*) FROM directory_summarylog")[0][0] == 0
    # 3. Redis back, a worker running: the next dispatch sends it, once.
    stack.restart_redis()
    stack.start_worker()
    stack.manage(*dispatch)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not sent():
        time.sleep(0.25)
    assert len(sent()) == 1, "no summary within 60 s of Redis coming back"
    for _ in range(2):
        stack.manage(*dispatch)
    time.sleep(3)  # time for the worker to take any duplicate it was given
    assert len(sent()) == 1
    logs = _rows(stack, "SELECT recipients, sent_at IS NOT NULL FROM directory_summarylog")
    assert logs == [(1, True)]
