"""Queries of a fixed shape, compiled to SQL once per process instead of once per call.

The SCIM hot path runs the same few statements thousands of times a minute: the
`userName eq` lookup an IdP sends before each create, the uniqueness check inside the
create, the seat counter. Building and compiling such a QuerySet costs 0.3–0.8 ms of
CPU, several times what Postgres spends running it. A PreparedQuery builds it through
the ORM once, with sample values, learns where each value lands among the SQL's
parameters, and from then on only binds new values: the SQL, the filters and their
semantics stay the ORM's.

    _BY_NAME = PreparedQuery(
        lambda org_id, name: EndUser.objects.filter(org_id=org_id, user_name=name),
        samples=(-7_000_001, "\\x00sample"),
    )
    _BY_NAME.all(org.pk, "ada@example.com")     # -> list[EndUser]

Samples must be ints or strings that no real call uses, each distinct. A query whose
compiled parameters do not carry the samples unchanged (say `__contains`, which wraps
its value in wildcards) is refused when first used, rather than bound wrongly.

Writes whose outcome nobody reads before the transaction ends (a user's email rows, its
event, its change events) need not each wait for Postgres. Inside `atomic_deferred()`,
`insert(obj, defer=True)` queues the INSERT instead of sending it; the queue travels with
the next statement the connection sends, in the same round trip (a multi-statement
query, whose last result is the one the caller reads), or at the end of the block, with
the COMMIT when the block is a transaction of its own. So a SCIM
create costs three round trips instead of eight. A queued INSERT that fails fails
the statement it travelled with: inside the transaction, which then rolls back whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.expressions import DatabaseDefault
from django.db.models.sql import InsertQuery, UpdateQuery

M = TypeVar("M", bound=Model)

# A slot is the index of the value to bind, or None for a constant the ORM put there.
_Slots = list[int | None]


class PreparedError(ValueError):
    """The query cannot be prepared: its parameters do not carry the samples as given."""


def _slots(params: Sequence[Any], samples: Sequence[Any]) -> _Slots:
    slots: _Slots = []
    used: set[int] = set()
    for param in params:
        hits = [i for i, s in enumerate(samples) if _same_kind(param, s) and param == s]
        if len(hits) > 1:
            raise PreparedError(f"samples {samples!r} are not distinct")
        if hits:
            slots.append(hits[0])
            used.add(hits[0])
            continue
        if isinstance(param, str) and any(isinstance(s, str) and s in param for s in samples):
            raise PreparedError(f"a lookup transforms its value ({param!r}): not preparable")
        slots.append(None)
    if used != set(range(len(samples))):
        raise PreparedError(f"not every sample of {samples!r} reaches the SQL unchanged")
    return slots


def _same_kind(param: Any, sample: Any) -> bool:
    # The Postgres backend may pass an int compared with an expression as a psycopg
    # Int4 or Int8 (subclasses of int); bind() wraps the new value the same way.
    if type(sample) is int:
        return isinstance(param, int) and not isinstance(param, bool)
    return type(param) is type(sample)


def _check_samples(samples: Sequence[Any]) -> None:
    if not all(type(s) in (int, str) for s in samples):
        raise PreparedError("samples must be ints or strings")


class _Compiled:
    def __init__(self, sql: str, params: Sequence[Any], samples: Sequence[Any]) -> None:
        self.sql = sql
        self.slots = _slots(params, samples)
        self.constants = list(params)
        # The type each bound value is sent as, when it is not the sample's own (Int4).
        self.wraps = [
            None if slot is None or type(p) is type(samples[slot]) else type(p)
            for p, slot in zip(params, self.slots, strict=True)
        ]

    def bind(self, values: Sequence[Any]) -> list[Any]:
        bound = list(self.constants)
        for n, slot in enumerate(self.slots):
            if slot is not None:
                wrap = self.wraps[n]
                bound[n] = values[slot] if wrap is None else wrap(values[slot])
        return bound


class _CompiledSelect(_Compiled):
    def __init__(self, qs: QuerySet[Any], samples: Sequence[Any], using: str) -> None:
        # Aliases (annotations only filtered on) are fine; selected annotations are not.
        query = qs.query
        if query.select_related or query.annotation_select or qs._prefetch_related_lookups:  # type: ignore[attr-defined]
            raise PreparedError("only plain model queries can be prepared")
        compiler = qs.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        super().__init__(sql, params, samples)
        fields = compiler.klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        self.model = compiler.klass_info["model"]
        self.attnames = [s[0].target.attname for s in compiler.select[start:end]]
        self.span = (start, end)
        self.compiler = compiler
        self.converters = compiler.get_converters([s[0] for s in compiler.select])


class PreparedQuery(Generic[M]):
    """A SELECT of model rows (no select_related, annotations or prefetches)."""

    def __init__(self, build: Callable[..., QuerySet[M]], *, samples: Sequence[Any]) -> None:
        _check_samples(samples)
        self.build = build
        self.samples = tuple(samples)
        self._compiled: dict[tuple[str, str], _CompiledSelect] = {}

    def _get(self, using: str) -> _CompiledSelect:
        # Keyed by the backend too: the tests' Postgres and SQLite runs share a process.
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = _CompiledSelect(self.build(*self.samples), self.samples, using)
            self._compiled[key] = compiled
        return compiled

    def all(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        compiled = self._get(using)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(values))
            rows = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        start, end = compiled.span
        model = compiled.model
        return [model.from_db(using, compiled.attnames, row[start:end]) for row in rows]

    def first(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> M | None:
        """The first row of all(): give the query an order and a slice of one."""
        rows = self.all(*values, using=using)
        return rows[0] if rows else None


class PreparedUpdate:
    """An UPDATE: `build(*values)` returns the QuerySet to update and the new values."""

    def __init__(
        self, build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]], *, samples: Sequence[Any]
    ) -> None:
        _check_samples(samples)
        self.build = build
        self.samples = tuple(samples)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _get(self, using: str) -> _Compiled:
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            qs, changes = self.build(*self.samples)
            query: Any = qs.query.chain(UpdateQuery)
            query.add_update_values(changes)
            if query.related_updates:
                raise PreparedError("updates across inherited models cannot be prepared")
            sql, params = query.get_compiler(using=using).as_sql()
            compiled = self._compiled[key] = _Compiled(sql, params, self.samples)
        return compiled

    def run(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> int:
        """The number of rows updated."""
        compiled = self._get(using)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, compiled.bind(values))
            return int(cursor.rowcount)


class _CompiledInsert:
    def __init__(
        self, model: type[Model], fields: list[Any], obj: Model, using: str, returning: bool
    ) -> None:
        meta = model._meta
        self.fields = fields
        self.returning = list(meta.db_returning_fields) if returning else []
        query = InsertQuery(model)
        query.insert_values(fields, [obj], raw=False)
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = self.returning
        ((self.sql, _),) = compiler.as_sql()
        self.converters = compiler.get_converters(
            [f.get_col(meta.db_table) for f in self.returning]
        )
        self.compiler = compiler


_inserts: dict[tuple[Any, ...], _CompiledInsert] = {}

# The attribute of a connection that holds its queue inside atomic_deferred().
_QUEUE = "commandcenter_deferred_writes"


class _Queue(list[str]):
    """The statements an atomic_deferred() block holds back, as SQL text."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__()
        self.connection = connection
        self._raw: Any = None

    def add(self, sql: str, params: Sequence[Any]) -> None:
        # A psycopg cursor of the block's own, only to bind values into SQL text
        # (ClientCursor.mogrify): it never executes anything.
        if self._raw is None:
            self.connection.ensure_connection()
            self._raw = self.connection.connection.cursor()
        self.append(self._raw.mogrify(sql, params))


def _queue(connection: BaseDatabaseWrapper) -> _Queue | None:
    queue: _Queue | None = getattr(connection, _QUEUE, None)
    return queue


def _ride_along(
    queue: list[str], execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    """An execute wrapper: the queued statements go first, in the same query."""
    if not queue:
        return execute(sql, params, many, context)
    raw = context["cursor"].cursor
    queued = list(queue)
    queue.clear()
    if many:
        execute("; ".join(queued), None, False, context)
        return execute(sql, params, many, context)
    statement = sql if params is None else raw.mogrify(sql, params)
    result = execute("; ".join([*queued, statement]), None, False, context)
    for _ in queued:  # to the result of the caller's statement
        raw.nextset()
    return result


@contextmanager
def atomic_deferred(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """transaction.atomic(), inside which `insert(..., defer=True)` queues its INSERT
    (see above). What is still queued at the end is sent then, in one query: with the
    COMMIT when the block is the outermost transaction (Django's own commit then finds
    nothing to do), before the savepoint is released when it is nested in another.
    Nested blocks share the outer queue. On an exception, or a block marked for
    rollback, the queue is dropped: its transaction rolls back. Postgres only (its
    client-side binding cursor sends several statements at once); elsewhere insert()
    sends at once."""
    with transaction.atomic(using=using), _deferred(using):
        yield


@contextmanager
def _deferred(using: str) -> Iterator[None]:
    connection = connections[using]
    if connection.vendor != "postgresql" or _queue(connection) is not None:
        yield
        return
    queue = _Queue(connection)
    setattr(connection, _QUEUE, queue)
    try:
        with connection.execute_wrapper(partial(_ride_along, queue)):
            yield
            if queue and not connection.needs_rollback:  # else it all rolls back
                # The block's own transaction: its last writes go with the COMMIT.
                if len(connection.atomic_blocks) == 1 and not connection.savepoint_ids:
                    queue.append("COMMIT")
                statements = "; ".join(queue)
                queue.clear()
                with connection.cursor() as cursor:
                    cursor.execute(statements)
    finally:
        setattr(connection, _QUEUE, None)


def insert(obj: M, *, using: str = DEFAULT_DB_ALIAS, defer: bool = False) -> M:
    """INSERT `obj`, as `obj.save(force_insert=True)` does (defaults, auto_now, the
    primary key the database returns), from SQL compiled once per model.

    Sends no pre_save/post_save signals; the models it serves have no receivers.
    Anything unusual (a database that cannot return columns, a value that is an
    expression, a generated field) goes through save() instead.

    `defer=True` inside atomic_deferred(): queued, not sent, and the columns the
    database fills in (an auto-increment id, a database default) stay unread; the
    caller promises not to read them.
    """
    meta = obj._meta
    connection = connections[using]
    with_pk = obj.pk is not None or meta.auto_field is None
    fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field]
    queue = _queue(connection) if defer else None
    if queue is not None:
        # Columns left to their database default are left out of the statement.
        fields = [f for f in fields if not isinstance(getattr(obj, f.attname), DatabaseDefault)]
    if (
        not connection.features.can_return_columns_from_insert
        or any(f.generated for f in fields)
        or any(hasattr(getattr(obj, f.attname), "resolve_expression") for f in fields)
    ):
        obj.save(force_insert=True, using=using)
        return obj
    key = (type(obj), using, connection.vendor, queue is None, *(f.attname for f in fields))
    compiled = _inserts.get(key)
    if compiled is None:
        compiled = _CompiledInsert(type(obj), fields, obj, using, returning=queue is None)
        _inserts[key] = compiled
    # pre_save() after compiling, which calls it too: auto_now values are set once more
    # here, and what is sent is what the instance keeps.
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    if queue is not None:
        queue.add(compiled.sql, params)
        obj._state.adding = False
        obj._state.db = using
        return obj
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        row = cursor.fetchone() if compiled.returning else None
    if row is not None:
        if compiled.converters:
            row = next(iter(compiled.compiler.apply_converters([row], compiled.converters)))
        for field, value in zip(compiled.returning, row, strict=True):
            setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using
    return obj


def insert_all(objs: Sequence[M], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT several objects of one model whose database-filled columns nobody reads:
    queued inside atomic_deferred(), else in one bulk_create()."""
    if _queue(connections[using]) is not None:
        for obj in objs:
            insert(obj, using=using, defer=True)
    elif objs:
        type(objs[0])._default_manager.using(using).bulk_create(objs)
