from __future__ import annotations

import json
import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from directory.errors import LimitReached
from directory.models import ScimDirectory
from directory.services import scim_directory_delete, scim_disable
from tests.actors import OPERATOR
from tokens.auth import token_authenticate, token_from_header, token_touch
from tokens.models import ScimToken
from tokens.services import token_issue, token_revoke


def test_a_token_is_high_entropy_recognisable_and_shown_once(directory: ScimDirectory) -> None:
    issued = token_issue(directory=directory, name="Okta")
    assert issued.plaintext.startswith("ccscim_") and len(issued.plaintext) >= 40
    assert issued.token.prefix == issued.plaintext[:11]
    stored = ScimToken.objects.get()
    assert not hasattr(stored, "plaintext")
    assert stored.digest != issued.plaintext and len(stored.digest) == 64


def test_no_token_plaintext_is_stored_anywhere(directory: ScimDirectory) -> None:
    issued = token_issue(directory=directory, name="Okta")
    out = StringIO()
    call_command("scim", "token", "issue", "acme", "--json", stdout=out)
    from_cli = json.loads(out.getvalue())["token"]
    for plaintext in (issued.plaintext, from_cli):
        secret = plaintext.removeprefix("ccscim_")
        dump = StringIO()
        call_command("dumpdata", stdout=dump)
        assert plaintext not in dump.getvalue() and secret not in dump.getvalue()
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM tokens_scimtoken")
            rows = repr(cursor.fetchall())
        assert rows.count("ccscim_") == 2  # the visible prefixes
        assert plaintext not in rows and secret not in rows
        # Every table, not only the ones dumpdata knows about (audit trail, sessions...).
        for table in connection.introspection.table_names():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
                assert secret not in repr(cursor.fetchall()), table


def test_it_authenticates_bearer_and_bare_tokens(directory: ScimDirectory, token: str) -> None:
    for header in (f"Bearer {token}", f"bearer {token}", token, f"  Bearer   {token} "):
        found = token_authenticate(token_from_header(header))
        assert found is not None and found.directory_id == directory.id


@pytest.mark.parametrize(
    "raw", ["", "Bearer", "ccscim_", "ccscim_" + "x" * 43, "x" * 5000, "ccscim_ä"]
)
def test_garbage_authenticates_nothing(token: str, raw: str) -> None:
    assert token_authenticate(token_from_header(raw)) is None


def test_a_revoked_token_authenticates_nothing_at_once(
    directory: ScimDirectory, token: str
) -> None:
    token_revoke(directory=directory, token_id=str(ScimToken.objects.get().id))
    assert token_authenticate(token) is None


def test_tokens_of_a_disabled_or_deleted_directory_authenticate_nothing(
    directory: ScimDirectory, token: str
) -> None:
    scim_disable(org=directory.org, actor=OPERATOR)
    assert token_authenticate(token) is None
    scim_directory_delete(org=directory.org, actor=OPERATOR)
    assert token_authenticate(token) is None


def test_a_token_stays_bound_to_its_directory(
    directory: ScimDirectory, other_directory: ScimDirectory, other_token: str
) -> None:
    found = token_authenticate(other_token)
    assert found is not None and found.directory_id == other_directory.id != directory.id


def test_a_third_active_token_is_refused_until_one_is_revoked(directory: ScimDirectory) -> None:
    first = token_issue(directory=directory)
    token_issue(directory=directory)
    with pytest.raises(LimitReached, match="at most 2 active API tokens"):
        token_issue(directory=directory)
    token_revoke(directory=directory, token_id=str(first.token.id))
    token_issue(directory=directory)
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 2


def test_another_directorys_token_cannot_be_revoked_here(
    directory: ScimDirectory, other_directory: ScimDirectory, other_token: str
) -> None:
    from directory.errors import NotFound

    with pytest.raises(NotFound):
        token_revoke(directory=directory, token_id=str(other_directory.tokens.get().id))
    assert other_directory.tokens.get().revoked_at is None


def test_last_use_is_written_once_a_minute_not_on_every_request(
    token: str, django_assert_num_queries: Any
) -> None:
    found = token_authenticate(token)
    assert found is not None
    with django_assert_num_queries(1):
        token_touch(found, ip="10.0.0.1", user_agent="Okta SCIM Client 1.0.0")
    with django_assert_num_queries(0):
        token_touch(found, ip="10.0.0.1", user_agent="Okta SCIM Client 1.0.0")
    with django_assert_num_queries(1):
        token_touch(found, ip="10.0.0.2", user_agent="Okta SCIM Client 1.0.0")
    stored = ScimToken.objects.get()
    assert stored.last_used_ip == "10.0.0.2" and stored.last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_never_make_more_than_two_active_tokens(
    directory: ScimDirectory,
) -> None:
    errors: list[Exception] = []

    def issue() -> None:
        try:
            token_issue(directory=directory)
        except LimitReached as e:
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 2
    assert len(errors) == 4


@pytest.fixture
def shared_cache(settings: Any) -> None:
    # The token cache is on whenever a shared cache (Redis) is configured; the test
    # cache stands in for it.
    settings.REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:1/0"


def test_a_cached_token_costs_no_query_and_revoking_it_works_at_once(
    shared_cache: None, directory: ScimDirectory, token: str, django_assert_num_queries: Any
) -> None:
    assert token_authenticate(token) is not None
    with django_assert_num_queries(0):
        assert token_authenticate(token) is not None
    token_revoke(directory=directory, token_id=str(ScimToken.objects.get().id))
    assert token_authenticate(token) is None


def test_disabling_the_directory_drops_its_cached_tokens(
    shared_cache: None, directory: ScimDirectory, token: str
) -> None:
    assert token_authenticate(token) is not None
    scim_disable(org=directory.org, actor=OPERATOR)
    assert token_authenticate(token) is None


def test_a_policy_change_reaches_the_next_request_through_the_cache(
    shared_cache: None, directory: ScimDirectory, token: str
) -> None:
    from directory.services import org_deprovision_set

    cached = token_authenticate(token)
    assert cached is not None and cached.directory.org.deprovision == "disable"
    org_deprovision_set(org=directory.org, deprovision="delete", actor=OPERATOR)
    fresh = token_authenticate(token)
    assert fresh is not None and fresh.directory.org.deprovision == "delete"
