"""The provisioning log's buffer: a request costs no write; the flush writes many
entries at once, keeps them through a database outage, drops those of a deleted org,
masks those of a user deleted while they wait and, past BUFFER_CAP, drops new entries
and says how many."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from directory.models import EndUser, Org, ScimDirectory, ScimRequest
from directory.services import scim_requests, user_delete
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, okta_user


@pytest.fixture
def buffered(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Buffered as deployed, without the flusher thread: the test flushes, on its own
    # connection, inside its transaction.
    settings.SCIM_REQUEST_LOG_FLUSH_MS = 1000
    monkeypatch.setattr(scim_requests, "_flusher_ensure", lambda: None)


def _facts(n: int = 0) -> scim_requests.ScimRequestFacts:
    return scim_requests.ScimRequestFacts(
        method="GET", path=f"/scim/v2/x/Users/{n}", query="", status=200, latency_ms=3,
        address="192.0.2.1", user_agent="Okta SCIM Client",
    )  # fmt: skip


def _record(directory: ScimDirectory, n: int = 0) -> None:
    scim_requests.scim_request_record(
        facts=_facts(n), request_id=uuid.uuid4(), directory_id=directory.id, directory=directory
    )


@pytest.mark.usefixtures("buffered")
def test_a_request_writes_nothing_until_the_flush_writes_all_at_once(
    scim: ScimClient, org: Org, directory: ScimDirectory
) -> None:
    scim.get("/Users")  # the token's last use is written once a minute
    scim_requests.scim_requests_flush()
    with CaptureQueriesContext(connection) as during:
        assert scim.get("/Users").status_code == 200
        assert scim.get("/Users?count=1").status_code == 200
    assert not any("scimrequest" in q["sql"].lower() for q in during.captured_queries)
    assert org.scim_requests.count() == 1
    with CaptureQueriesContext(connection) as two:
        assert scim_requests.scim_requests_flush() == 2
    assert org.scim_requests.count() == 3
    for n in range(40):
        _record(directory, n)
    with CaptureQueriesContext(connection) as forty:
        assert scim_requests.scim_requests_flush() == 40
    # The same statements for 40 entries as for 2: two lookups and one bulk write (a
    # COPY on Postgres), in a savepoint here inside the test's transaction.
    assert len(forty.captured_queries) == len(two.captured_queries) <= 5
    assert org.scim_requests.count() == 43
    assert scim_requests.scim_requests_flush() == 0


@pytest.mark.usefixtures("buffered")
def test_entries_survive_a_database_outage(
    org: Org, directory: ScimDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(directory, 1)
    _record(directory, 2)
    real = scim_requests._rows_insert

    def down(rows: Any) -> int:
        raise OperationalError("connection refused")

    monkeypatch.setattr(scim_requests, "_rows_insert", down)
    with pytest.raises(OperationalError):
        scim_requests.scim_requests_flush()
    monkeypatch.setattr(scim_requests, "_rows_insert", real)
    _record(directory, 3)
    assert scim_requests.scim_requests_flush() == 3
    assert sorted(org.scim_requests.values_list("path", flat=True)) == [
        "/scim/v2/x/Users/1", "/scim/v2/x/Users/2", "/scim/v2/x/Users/3",
    ]  # fmt: skip


@pytest.mark.usefixtures("buffered")
def test_an_entry_of_an_org_deleted_meanwhile_is_dropped(
    org: Org, other_org: Org, directory: ScimDirectory, other_directory: ScimDirectory
) -> None:
    _record(directory)
    _record(other_directory)
    Org.objects.filter(pk=org.pk).delete()
    assert scim_requests.scim_requests_flush() == 1
    assert list(ScimRequest.objects.values_list("org", flat=True)) == [other_org.pk]
    assert scim_requests.scim_requests_flush() == 0  # not retried


@pytest.mark.usefixtures("buffered")
def test_past_the_cap_new_entries_are_dropped_and_counted(
    org: Org, directory: ScimDirectory, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(scim_requests, "BUFFER_CAP", 2)
    for n in range(5):
        _record(directory, n)
    with caplog.at_level(logging.WARNING, logger="directory.services.scim_requests"):
        assert scim_requests.scim_requests_flush() == 2
    assert "dropped 3 entries" in caplog.text
    assert sorted(org.scim_requests.values_list("path", flat=True)) == [
        "/scim/v2/x/Users/0", "/scim/v2/x/Users/1",
    ]  # fmt: skip


@pytest.mark.usefixtures("buffered")
def test_a_full_batch_wakes_the_flusher(directory: ScimDirectory) -> None:
    state = scim_requests._state
    for n in range(scim_requests.FLUSH_BATCH - 1):
        _record(directory, n)
    assert not state.wake.is_set()
    _record(directory)
    assert state.wake.is_set()


def test_a_forked_process_starts_with_an_empty_buffer(
    directory: ScimDirectory, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SCIM_REQUEST_LOG_FLUSH_MS = 1000
    monkeypatch.setattr(scim_requests, "_flusher_ensure", lambda: None)
    _record(directory)
    parent = scim_requests._state
    scim_requests._after_fork()  # what os.register_at_fork runs in the child
    assert scim_requests._state is not parent and scim_requests._state.entries == []
    assert len(parent.entries) == 1  # still the parent's to write


@pytest.mark.usefixtures("buffered")
def test_a_user_deleted_while_their_requests_wait_is_masked_when_they_are_written(
    scim: ScimClient, org: Org
) -> None:
    ada = scim.post("/Users", okta_user("ada@acme.example", family="Lovelace")).json()
    scim.get("/Users", {"filter": 'userName eq "ada@acme.example"'})
    assert not org.scim_requests.exists()  # both wait in the buffer
    user_delete(user=EndUser.objects.get(pk=ada["id"]), actor=OPERATOR)
    assert scim_requests.scim_requests_flush() == 2
    kept = "".join(r.request_body + r.response_body + r.query for r in org.scim_requests.all())
    assert "ada@acme.example" not in kept and "Lovelace" not in kept
    assert '"password":"***"' in kept
