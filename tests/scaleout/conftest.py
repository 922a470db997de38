"""A cluster of the test's own on 127.0.0.1: one Postgres, one Redis, and as many app
nodes (gunicorn with the production config), Celery workers and beats as a test starts,
every one a separate process sharing only those two servers. It does not touch the test
database, so it runs the same on the SQLite run and on CI's Postgres."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
import redis

from tests.conftest import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def wait_for(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.1)


@dataclass
class Node:
    """One app node: a gunicorn master with its workers."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    tmp: Path
    pg_port: int
    redis_port: int
    env: dict[str, str]
    processes: list[tuple[subprocess.Popen[bytes], IO[bytes], Path]] = field(default_factory=list)

    @property
    def pg_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/commandcenter"

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            cursor = conn.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []

    def redis_keys(self, pattern: str) -> list[bytes]:
        client = redis.Redis(port=self.redis_port)
        try:
            return list(client.scan_iter(match=pattern))
        finally:
            client.close()

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        r = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env | (env or {}),
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    def shell(self, code: str, env: dict[str, str] | None = None) -> Any:
        """Run `code` in `manage.py shell`; it prints one JSON value, returned here."""
        return json.loads(self.manage("shell", "-c", code, env=env).strip().splitlines()[-1])

    def _start(self, name: str, args: list[str], env: dict[str, str] | None) -> Any:
        log_path = self.tmp / f"{name}-{len(self.processes)}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env | (env or {}), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append((process, log, log_path))
        return process

    def node(self, *, workers: int = 2, env: dict[str, str] | None = None) -> Node:
        port = free_port()
        process = self._start(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn", "commandcenter.wsgi:application",
                "-c", "python:commandcenter.gunicorn_conf",  # as the image serves it
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "30",
            ],
            env,
        )  # fmt: skip
        return Node(port, process)

    def celery(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return self._start(  # type: ignore[no-any-return]
            args[0], [sys.executable, "-m", "celery", "-A", "commandcenter", *args], env
        )

    def beat(self, *, clock: float, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`celery -A commandcenter beat` whose clock starts at `clock` (a Unix time) and
        runs on from there: time-machine moves this process's clock only."""
        schedule = self.tmp / f"beat-{len(self.processes)}"
        launcher = (
            "import sys, time_machine; "
            "time_machine.travel(float(sys.argv.pop(1)), tick=True).start(); "
            "from celery.__main__ import main; sys.argv[0] = 'celery'; main()"
        )
        return self._start(  # type: ignore[no-any-return]
            "beat",
            [
                sys.executable, "-c", launcher, str(clock), "-A", "commandcenter", "beat",
                "-l", "info", "--schedule", str(schedule),
            ],
            env,
        )  # fmt: skip

    def stop_all(self) -> None:
        for process, _, path in self.processes:
            if process.poll() is None:
                # A worker's warm shutdown waits for its pool (10 s here); nothing it
                # holds matters once the test is over.
                cold = path.name.startswith("worker")
                process.send_signal(signal.SIGQUIT if cold else signal.SIGTERM)
        for process, log, _ in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.close()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for _, _, path in self.processes
            if path.exists()
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Postgres and Redis of this module's own, migrated; every process a test starts
    through it is stopped at the end of the module."""
    with contextlib.ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="cc-scaleout-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")  # initdb refuses to run as root
            as_pg = ["runuser", "-u", "postgres", "--"]
        initdb = [str(PG_BIN / "initdb"), "-D", str(tmp / "pg"), "-U", "postgres", "-A", "trust"]
        subprocess.run(
            [*as_pg, *initdb, "--no-sync", "-E", "UTF8"], check=True, capture_output=True
        )
        pg_port, redis_port = free_port(), free_port()
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(tmp / "pg"), "-w", "-s"]
        cleanup.callback(subprocess.run, [*as_pg, *pg_ctl, "-m", "immediate", "stop"])
        options = f"-h 127.0.0.1 -p {pg_port} -k {tmp} -c fsync=off -c max_connections=100"
        subprocess.run(
            [*as_pg, *pg_ctl, "-l", str(tmp / "pg.log"), "-o", options, "start"], check=True
        )
        createdb = [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg_port)]
        subprocess.run([*createdb, "-U", "postgres", "commandcenter"], check=True)
        redis = subprocess.Popen(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        cleanup.callback(redis.wait, 10)
        cleanup.callback(redis.terminate)
        wait_port(redis_port)
        keep = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SECRET_KEY_FILE", "SITE_URL")
        env = {k: v for k, v in os.environ.items() if k not in keep} | {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/commandcenter",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SECRET_KEY": "scaleout-test-secret-key-not-for-production-0123456789abcdef",
            "SITE_URL": "http://127.0.0.1:8000",
            "ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp / "outbox"),
        }
        c = Cluster(tmp, pg_port, redis_port, env)
        cleanup.callback(c.stop_all)
        c.manage("migrate", "-v0")
        yield c
        print(c.logs())  # shown by pytest when a test of the module failed


# Creates each org of SLUGS (a slug and a number of tokens) with SCIM on, one admin with
# an admin API key, and its SCIM tokens; prints them as JSON, by slug.
ORG_SETUP = """
import json
from directory.audit import operator_actor
from directory.services import idp_configure, org_admin_add, org_create, scim_enable
from tokens.services import api_key_issue, token_issue
out = {}
for slug, count in SLUGS:
    org = org_create(slug=slug, name=slug, seats=1000)
    idp_configure(org=org, provider="okta", protocol="saml", actor=operator_actor())
    directory = scim_enable(org=org, actor=operator_actor())
    admin, _ = org_admin_add(org=org, email=f"admin@{slug}.example")
    tokens = [token_issue(directory=directory, name=f"t{n}") for n in range(count)]
    out[slug] = {
        "scim": f"/scim/v2/{directory.pk}",
        "tokens": [t.plaintext for t in tokens],
        "token_ids": [str(t.token.pk) for t in tokens],
        "api_key": api_key_issue(user=admin.user, name="ops").plaintext,
    }
print(json.dumps(out))
"""


def orgs_setup(cluster: Cluster, tokens: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The orgs `tokens` names, each with that many SCIM tokens (one shell for all)."""
    return dict(cluster.shell(f"SLUGS = {list(tokens.items())!r}\n" + ORG_SETUP))
