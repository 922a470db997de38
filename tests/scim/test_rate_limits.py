from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from directory.models import Org
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def test_over_the_token_limit_is_a_429_that_writes_nothing(
    scim: ScimClient, org: Org, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = 3
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        for i in range(3):
            assert scim.post("/Users", okta_user(f"u{i}@acme.example")).status_code == 201
        r = scim.post("/Users", okta_user("late@acme.example"))
        assert_scim_error(r, 429)
        assert r["Retry-After"] == "1"
        assert_scim_error(scim.get("/Users"), 429)
    assert not org.users.filter(user_name="late@acme.example").exists()
    throttled = org.events.filter(status_code=429)
    assert throttled.count() == 1 and "Throttled" in throttled.get().message
    with time_machine.travel("2026-11-24 10:00:01+00:00", tick=False):
        assert scim.post("/Users", okta_user("late@acme.example")).status_code == 201


def test_an_orgs_own_limit_covers_all_its_tokens(
    scim: ScimClient, other_scim: ScimClient, org: Org, settings: Any
) -> None:
    org.scim_rate_limit = 2
    org.save()
    settings.SCIM_RATE_PER_ORG = 1000
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        assert scim.get("/Users").status_code == 200
        assert scim.get("/Users").status_code == 200
        assert_scim_error(scim.get("/Users"), 429)
        # Another org is not slowed down by this one.
        assert other_scim.get("/Users").status_code == 200


def test_the_limiter_fails_open_when_the_cache_is_down(scim: ScimClient, settings: Any) -> None:
    settings.SCIM_RATE_PER_TOKEN = 1
    # The shared cache is a Redis that does not answer: nothing listens on port 1.
    settings.CACHES = {
        "default": {
            "BACKEND": "commandcenter.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
