"""The SCIM endpoint served for real (pytest-django's live_server) and driven over HTTP:
concurrent IdP requests, and the external compliance checkers."""

from __future__ import annotations

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
from tests.scim.conftest import okta_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base_url(live_server: Any, settings: Any, directory: ScimDirectory) -> str:
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
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
