"""Queries compiled once answer exactly what the ORM would, for any values bound later."""

from __future__ import annotations

import uuid

import django
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.sql import InsertQuery
from django.test.utils import CaptureQueriesContext

from directory.models import EndUser, Org, ProvisioningEvent, UserEmail
from directory.prepared import (
    PreparedError,
    PreparedQuery,
    PreparedUpdate,
    atomic_deferred,
    insert,
)
from directory.selectors import users_of_org_by_name

SAMPLES = (-7_000_001, "prepared-sample")


def _by_name() -> PreparedQuery[EndUser]:
    return PreparedQuery(
        lambda org_id, name: EndUser.objects.filter(
            org_id=org_id, user_name__lower=name, active=True
        ).order_by("user_name"),
        samples=SAMPLES,
    )


def test_later_calls_bind_their_own_values(org: Org, other_org: Org) -> None:
    ada = EndUser.objects.create(org=org, user_name="ada@x", emails=[{"value": "ada@x"}])
    EndUser.objects.create(org=org, user_name="bob@x")
    theirs = EndUser.objects.create(org=other_org, user_name="ada@x")
    EndUser.objects.create(org=org, user_name="gone@x", active=False)
    query = _by_name()

    assert [u.pk for u in query.all(org.pk, "ada@x")] == [ada.pk]
    assert [u.pk for u in query.all(other_org.pk, "ada@x")] == [theirs.pk]
    assert [u.user_name for u in query.all(org.pk, "bob@x")] == ["bob@x"]
    # `active=True` is part of the query, not a value of the call.
    assert query.all(org.pk, "gone@x") == []
    assert query.first(org.pk, "nobody@x") is None


def test_rows_come_back_as_the_orm_builds_them(org: Org) -> None:
    made = EndUser.objects.create(
        org=org, user_name="ada@x", emails=[{"value": "ada@x", "primary": True}]
    )
    user = _by_name().first(org.pk, "ada@x")
    expected = EndUser.objects.get(pk=made.pk)
    assert user is not None
    for field in EndUser._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(expected, field.attname), field.name
    assert user.emails == [{"value": "ada@x", "primary": True}]  # JSON decoded
    assert user.org == org  # a real model instance, relations and all
    assert not user._state.adding


def test_an_org_matched_through_an_expression_binds_each_calls_org(
    org: Org, other_org: Org
) -> None:
    # users_of_org_by_name() filters on `org_id + 0` (an alias); Postgres sends the
    # org there as an Int4, which the later calls must send too.
    ours = EndUser.objects.create(org=org, user_name="ada@x")
    theirs = EndUser.objects.create(org=other_org, user_name="ADA@x")
    query = PreparedQuery(
        lambda org_id, name: users_of_org_by_name(org_id).filter(user_name__lower=name),
        samples=SAMPLES,
    )
    assert [u.pk for u in query.all(org.pk, "ada@x")] == [ours.pk]
    assert [u.pk for u in query.all(other_org.pk, "ada@x")] == [theirs.pk]
    assert query.all(org.pk, "bob@x") == []
    selected = PreparedQuery(
        lambda org_id: EndUser.objects.annotate(key=F("org_id") + 0).filter(key=org_id),
        samples=SAMPLES[:1],
    )
    with pytest.raises(PreparedError, match="plain model queries"):
        selected.all(org.pk)


def test_lookups_that_rewrite_their_value_are_refused(org: Org) -> None:
    # `contains` binds '%value%': binding another value there would be wrong, so the
    # query is refused when first used rather than answered wrongly.
    query = PreparedQuery(
        lambda org_id, name: EndUser.objects.filter(org_id=org_id, user_name__contains=name),
        samples=SAMPLES,
    )
    with pytest.raises(PreparedError, match="transforms"):
        query.all(org.pk, "ada")


def test_samples_must_be_distinct_and_all_reach_the_sql(org: Org) -> None:
    with pytest.raises(PreparedError, match="distinct"):
        PreparedQuery(
            lambda a, b: EndUser.objects.filter(org_id=a, seat_changed_at=None, pk=b),
            samples=(5, 5),
        ).all(1, 2)
    unused = PreparedQuery(
        lambda org_id, name: EndUser.objects.filter(org_id=org_id), samples=SAMPLES
    )
    with pytest.raises(PreparedError, match="unchanged"):
        unused.all(org.pk, "x")
    with pytest.raises(PreparedError, match="ints or strings"):
        PreparedQuery(lambda v: EndUser.objects.filter(pk=v), samples=(uuid.uuid4(),))


def test_an_update_counts_the_rows_it_changed(org: Org, other_org: Org) -> None:
    Org.objects.filter(pk__in=[org.pk, other_org.pk]).update(seats=2, seats_used=0)
    take = PreparedUpdate(
        lambda org_id: (
            Org.objects.filter(pk=org_id, seats_used__lt=F("seats")),
            {"seats_used": F("seats_used") + 1},
        ),
        samples=(-7_000_001,),
    )
    assert [take.run(org.pk) for _ in range(3)] == [1, 1, 0]
    org.refresh_from_db()
    other_org.refresh_from_db()
    assert (org.seats_used, other_org.seats_used) == (2, 0)


def test_insert_fills_defaults_and_the_returned_primary_key(org: Org) -> None:
    user = insert(EndUser(org=org, user_name="ada@x", emails=[{"value": "ada@x"}]))
    event = insert(ProvisioningEvent(org=org, action="user.create", outcome="success"))
    email = insert(UserEmail(user=user, org=org, value="ada@x"))

    assert isinstance(event.pk, int) and isinstance(email.pk, int)
    assert not user._state.adding and user._state.db == "default"
    stored = EndUser.objects.get(pk=user.pk)
    assert stored.created_at == user.created_at is not None
    assert stored.emails == [{"value": "ada@x"}]
    assert ProvisioningEvent.objects.get(pk=event.pk).details == {}
    assert list(stored.email_rows.values_list("value", flat=True)) == ["ada@x"]
    # The next insert gets a key of its own: nothing of the first row is reused.
    second = insert(ProvisioningEvent(org=org, action="user.create", outcome="success"))
    assert second.pk != event.pk


def test_insert_keeps_the_databases_constraints(org: Org) -> None:
    insert(EndUser(org=org, user_name="ada@x"))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(EndUser(org=org, user_name="ADA@x"))
    assert EndUser.objects.filter(org=org).count() == 1


# Deferred writes: on Postgres queued and sent with the next statement; elsewhere at once.
# Inside the test's transaction an atomic_deferred() block is a savepoint.
BATCHED = connection.vendor == "postgresql"


def _seat_update() -> PreparedUpdate:
    return PreparedUpdate(
        lambda org_id: (Org.objects.filter(pk=org_id, seats_used__lt=F("seats")), {"seats": 7}),
        samples=(-7_000_001,),
    )


def test_deferred_inserts_travel_with_the_next_statement_and_the_rest_at_the_end(
    org: Org,
) -> None:
    org.seats, org.seats_used = 5, 5
    org.save()
    odd = "o'brien %s %% \\ «ünï» 😀 ' ; DROP TABLE x; --"
    with CaptureQueriesContext(connection) as run, atomic_deferred():
        user = insert(EndUser(org=org, user_name=odd, emails=[{"value": odd}]), defer=True)
        insert(UserEmail(user=user, org=org, value=odd), defer=True)
        # The caller gets its own statement's answer: no seat is free, 0 rows (the
        # INSERTs that went first each wrote one).
        assert _seat_update().run(org.pk) == 0
        assert EndUser.objects.filter(org=org, user_name=odd).count() == 1
        event = insert(
            ProvisioningEvent(org=org, action="user.create", outcome="success"), defer=True
        )
    statements = [
        q["sql"] for q in run.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # On Postgres: the UPDATE (with both INSERTs before it), the COUNT, the event's INSERT.
    assert len(statements) == (3 if BATCHED else 5)
    stored = EndUser.objects.get(org=org, user_name=odd)
    assert stored.emails == [{"value": odd}]
    assert list(stored.email_rows.values_list("value", flat=True)) == [odd]
    assert ProvisioningEvent.objects.filter(org=org, action="user.create").count() == 1
    assert event.pk is None if BATCHED else isinstance(event.pk, int)


def test_a_deferred_insert_that_fails_rolls_its_whole_transaction_back(org: Org) -> None:
    insert(EndUser(org=org, user_name="ada@x"))
    with pytest.raises(IntegrityError), atomic_deferred():
        insert(ProvisioningEvent(org=org, action="user.create", outcome="success"), defer=True)
        insert(EndUser(org=org, user_name="ADA@x"), defer=True)
        insert(ProvisioningEvent(org=org, action="user.update", outcome="success"), defer=True)
    assert EndUser.objects.filter(org=org).count() == 1
    assert not ProvisioningEvent.objects.filter(org=org).exists()


def test_an_exception_in_the_block_drops_what_it_queued(org: Org) -> None:
    with pytest.raises(ValueError), atomic_deferred():
        insert(EndUser(org=org, user_name="lost@x"), defer=True)
        raise ValueError
    with atomic_deferred():
        insert(EndUser(org=org, user_name="kept@x"), defer=True)
    assert list(EndUser.objects.filter(org=org).values_list("user_name", flat=True)) == ["kept@x"]
    # Outside a block, defer=True writes at once.
    insert(EndUser(org=org, user_name="now@x"), defer=True)
    assert EndUser.objects.filter(org=org, user_name="now@x").exists()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_of_its_own_sends_what_is_queued_with_its_commit(org: Org) -> None:
    committed: list[bool] = []
    with CaptureQueriesContext(connection) as run, atomic_deferred():
        user = insert(EndUser(org=org, user_name="ada@x"), defer=True)
        insert(ProvisioningEvent(org=org, action="user.create", outcome="success"), defer=True)
        transaction.on_commit(lambda: committed.append(True))
    # (Django logs its own commit as "COMMIT" after it: psycopg finds nothing to commit.)
    sent = [q["sql"] for q in run.captured_queries]
    assert any(sql.endswith("; COMMIT") for sql in sent) == BATCHED
    assert committed == [True]  # Django's commit ran its hooks, once
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert EndUser.objects.filter(pk=user.pk).exists()
    assert ProvisioningEvent.objects.filter(org=org).count() == 1
    # A block marked for rollback is not committed by its queue.
    with atomic_deferred():
        insert(EndUser(org=org, user_name="bob@x"), defer=True)
        transaction.set_rollback(True)
    assert not EndUser.objects.filter(user_name="bob@x").exists()
    # Inside another transaction it is a savepoint: the queue goes without a COMMIT, and
    # the outer transaction can still roll it back.
    with pytest.raises(ValueError), transaction.atomic():
        with CaptureQueriesContext(connection) as nested, atomic_deferred():
            insert(EndUser(org=org, user_name="eve@x"), defer=True)
        assert not any("COMMIT" in q["sql"] for q in nested.captured_queries)
        raise ValueError
    assert not EndUser.objects.filter(user_name="eve@x").exists()


def test_the_django_internals_prepared_queries_read_are_still_there(org: Org) -> None:
    """directory.prepared reads private parts of Django 5.2's SQL compiler. If this test
    fails after a Django upgrade, read the new compiler (django/db/models/sql/compiler.py)
    and adapt prepared.py before relaxing anything here: the hot SCIM lookups and the
    create depend on it."""
    assert django.VERSION[:2] == (5, 2), (
        f"Django {django.get_version()}: check directory/prepared.py against its compiler"
    )
    qs = EndUser.objects.filter(org_id=org.pk)
    assert hasattr(qs, "_prefetch_related_lookups")
    compiler = qs.query.get_compiler(using="default")
    sql, params = compiler.as_sql()
    assert set(compiler.klass_info) >= {"model", "select_fields"}
    assert compiler.klass_info["model"] is EndUser
    first = compiler.select[compiler.klass_info["select_fields"][0]]
    assert isinstance(first, tuple) and first[0].target.attname == "id"
    assert isinstance(compiler.get_converters([s[0] for s in compiler.select]), dict)
    insert = InsertQuery(EndUser).get_compiler(using="default")
    assert hasattr(insert, "returning_fields")
    assert hasattr(EndUser._meta, "db_returning_fields")
    # atomic_deferred() reads how deep the connection's transactions are.
    assert isinstance(connection.atomic_blocks, list)
    assert isinstance(connection.savepoint_ids, list)
