"""The SCIM endpoint served for real (pytest-django's live_server) and driven over HTTP:
concurrent IdP requests, and the external compliance checkers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from directory.models import Org, ScimDirectory
from directory.services import org_update
from tests.scim.conftest import okta_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base_url(live_server: Any, settings: Any, directory: ScimDirectory) -> str:
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    # The checkers and the parallel tests go as fast as a bulk import: lifted limits, as an
    # operator sets them for one (the limits have tests of their own, test_rate_limits.py).
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 100_000
    return f"{live_server.url}/scim/v2/{directory.id}"


def test_concurrent_creates_of_one_username_make_one_user(
    base_url: str, token: str, org: Org
) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            barrier.wait()
            r = client.post(f"{base_url}/Users", json=okta_user("race@acme.example"))
            statuses.append(r.status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == Counter({201: 1, 409: 7})
    assert org.users.filter(user_name__iexact="race@acme.example").count() == 1


def test_scim2_tester_reports_no_errors(base_url: str, token: str) -> None:
    client = SyncSCIMClient(
        httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    )
    results = check_server(client)
    counts = Counter(r.status.name for r in results)
    print(f"scim2-tester: {dict(sorted(counts.items()))}")
    bad = [f"{r.title}: {r.reason}" for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    assert not bad, "\n".join(bad)
    assert counts["SUCCESS"] > 50


def test_scim_sanity_probe_has_no_failed_checks(base_url: str, token: str) -> None:
    cli = Path(sys.executable).parent / "scim-sanity"
    result = subprocess.run(
        [str(cli), "probe", base_url, "--token", token, "--i-accept-side-effects"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stdout[-2000:])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[FAIL]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout
    assert "Result: All tests passed." in result.stdout


def test_scim2_cli_test_passes_with_nothing_skipped(base_url: str, token: str) -> None:
    cli = Path(sys.executable).parent / "scim2"
    result = subprocess.run(
        [str(cli), "--url", base_url, "test"],
        # The CLI's advice: secrets in the environment, not on the command line.
        env={**os.environ, "SCIM_CLI_HEADERS": f"Authorization: Bearer {token}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stdout[-1500:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # One line per check, its status first: SUCCESS, SKIPPED, ERROR or CRITICAL.
    statuses = Counter(line.split()[0] for line in result.stdout.splitlines() if line.strip())
    print(f"scim2-cli test: SUCCESS {statuses['SUCCESS']}")
    assert statuses["SUCCESS"] > 50
    assert not statuses["SKIPPED"] and not statuses["ERROR"] and not statuses["CRITICAL"], statuses


def _parallel(n: int, call: Any) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            statuses.append(call(i))
        except httpx.HTTPError as e:  # counted, so a lost request fails the test visibly
            statuses.append(-1)
            print(f"request {i} failed: {e!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_fifty_parallel_identical_creates_make_one_user(
    base_url: str, token: str, org: Org, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**6
    headers = {"Authorization": f"Bearer {token}"}

    def create(i: int) -> int:
        r = httpx.post(
            f"{base_url}/Users", json=okta_user("fifty@acme.example"), headers=headers, timeout=60
        )
        return r.status_code

    assert Counter(_parallel(50, create)) == Counter({201: 1, 409: 49})
    assert org.users.count() == 1
    assert org.events.filter(action="user_create", outcome="success").count() == 1
    assert org.events.filter(action="user_create", outcome="failure").count() == 49


def test_parallel_creates_beyond_the_seats_seat_exactly_as_many_users_as_there_are_seats(
    base_url: str, token: str, org: Org, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**6
    org_update(org=org, seats=7)
    headers = {"Authorization": f"Bearer {token}"}

    def create(i: int) -> int:
        body = okta_user(f"seat{i}@acme.example")
        return httpx.post(f"{base_url}/Users", json=body, headers=headers, timeout=60).status_code

    assert Counter(_parallel(20, create)) == Counter({201: 20})
    org.refresh_from_db()
    assert org.seats_used == 7
    assert org.users.filter(has_seat=True).count() == 7
    unseated = org.users.filter(has_seat=False)
    assert unseated.count() == 13 and not unseated.filter(seat_changed_at__isnull=False).exists()
    assert org.events.filter(action="user_create", details__no_seat=True).count() == 13


def test_parallel_member_adds_all_land_and_parallel_if_match_puts_let_one_win(
    base_url: str, token: str, org: Org, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**6
    client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    users = [
        client.post(f"{base_url}/Users", json=okta_user(f"m{i}@acme.example")).json()["id"]
        for i in range(20)
    ]
    group = client.post(f"{base_url}/Groups", json={"displayName": "Race"}).json()

    def add(i: int) -> int:
        body = {"Operations": [{"op": "add", "path": "members", "value": [{"value": users[i]}]}]}
        return httpx.patch(
            f"{base_url}/Groups/{group['id']}", json=body, headers=client.headers, timeout=60
        ).status_code

    assert set(_parallel(20, add)) == {200}
    members = client.get(f"{base_url}/Groups/{group['id']}").json()["members"]
    assert {m["value"] for m in members} == set(users)

    current = client.get(f"{base_url}/Users/{users[0]}")
    etag = current.headers["ETag"]

    def put(i: int) -> int:
        body = {**current.json(), "title": f"writer {i}"}
        headers = {**client.headers, "If-Match": etag}
        return httpx.put(
            f"{base_url}/Users/{users[0]}", json=body, headers=headers, timeout=60
        ).status_code

    assert Counter(_parallel(10, put)) == Counter({200: 1, 412: 9})
    client.close()
