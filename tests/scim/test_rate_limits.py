from __future__ import annotations

from typing import Any

import time_machine

from directory.models import Org, ScimDirectory
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.services import token_issue, token_revoke


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
            "BACKEND": "directory.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for _ in range(3):
        assert scim.get("/Users").status_code == 200


# On Redis, a token's second and later requests read it from the cache and count
# against both limits in one round trip: the same limits, revocation and isolation.


def test_on_redis_the_limits_hold_from_the_cache_and_revoking_still_works_at_once(
    redis_cache: None, scim: ScimClient, org: Org, directory: ScimDirectory, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = 3
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        for i in range(3):
            assert scim.post("/Users", okta_user(f"u{i}@acme.example")).status_code == 201
        assert_scim_error(scim.post("/Users", okta_user("late@acme.example")), 429)
    assert not org.users.filter(user_name="late@acme.example").exists()
    with time_machine.travel("2026-11-24 10:00:01+00:00", tick=False):
        assert scim.get("/Users").json()["totalResults"] == 3
        token_revoke(directory=directory, token_id=str(directory.tokens.get().id))
        assert_scim_error(scim.get("/Users"), 401)


def test_on_redis_an_orgs_limit_covers_its_tokens_and_no_other_org(
    redis_cache: None,
    scim: ScimClient,
    other_scim: ScimClient,
    org: Org,
    directory: ScimDirectory,
    settings: Any,
) -> None:
    org.scim_rate_limit = 3
    org.save()
    second = ScimClient(directory, token_issue(directory=directory).plaintext)
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        assert scim.get("/Users").status_code == 200
        assert second.get("/Users").status_code == 200
        assert scim.get("/Users").status_code == 200
        assert_scim_error(second.get("/Users"), 429)
        assert_scim_error(scim.get("/Users"), 429)
        for _ in range(5):
            assert other_scim.get("/Users").status_code == 200


def test_on_redis_requests_with_a_wrong_token_use_up_nothing(
    redis_cache: None, scim: ScimClient, org: Org, directory: ScimDirectory
) -> None:
    org.scim_rate_limit = 2
    org.save()
    stranger = ScimClient(directory, "ccscim_" + "x" * 43)
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        for _ in range(5):
            assert_scim_error(stranger.get("/Users"), 401)
        assert scim.get("/Users").status_code == 200
        assert scim.get("/Users").status_code == 200
        assert_scim_error(scim.get("/Users"), 429)
