"""The batch fill of a name key column, shared by migrations 0009 (users) and 0010
(groups). Not a migration itself: the loader skips modules whose names start with `_`.
"""

from django.db import transaction

from directory.names import user_name_key


def fill_keys(connection, *, table, source, column, batch):
    """Set `column` to user_name_key(`source`) on every row of `table`, `batch` rows per
    transaction, walking the rows in (org_id, created_at, id) order. Where rows of one
    org have equal keys, the oldest gets the key and the others NULL. Rows already
    filled get the same values again, so an interrupted run can simply be repeated."""
    # Raw SQL for the walk: a row-value comparison resumes each batch on the index where
    # the last ended (Postgres and SQLite both read it as a range), and the ids and
    # dates go back to the database exactly as it returned them.
    select = (
        f"SELECT id, org_id, created_at, {source}, {column} FROM {table} "
        "{where} ORDER BY org_id, created_at, id LIMIT %s"
    )
    update = f"UPDATE {table} SET {column} = %s WHERE id = %s"
    org_id, keys = None, set()
    after = None  # (org_id, created_at, id) of the last row seen
    while True:
        with connection.cursor() as cursor:
            if after is None:
                cursor.execute(select.format(where=""), [batch])
            else:
                cursor.execute(
                    select.format(where="WHERE (org_id, created_at, id) > (%s, %s, %s)"),
                    [*after, batch],
                )
            rows = cursor.fetchall()
        if not rows:
            return
        changed = []
        for id_, org, _created_at, name, stored in rows:
            if org != org_id:
                org_id, keys = org, set()
            key = user_name_key(name)
            value = None if key in keys else key
            keys.add(key)
            if stored != value:
                changed.append((value, id_))
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.executemany(update, changed)
        id_, org, created_at = rows[-1][:3]
        after = (org, created_at, id_)


def swap_unique_index(schema_editor, *, table, new, columns, old):
    """Build the unique index `new` on `columns` (CONCURRENTLY on Postgres, where it then
    becomes the constraint Django's state names), and only then drop the index `old`.
    Each step is skipped when already done, so a failed run can be repeated."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {new} ON {table} ({columns})")
        schema_editor.execute(f"DROP INDEX IF EXISTS {old}")
        return
    schema_editor.execute(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {new} ON {table} ({columns})"
    )
    # What AddConstraint would have made, without holding its table lock for the build.
    schema_editor.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{new}') "
        f"THEN ALTER TABLE {table} ADD CONSTRAINT {new} UNIQUE USING INDEX {new}; "
        "END IF; END $$"
    )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {old}")


def unswap_unique_index(schema_editor, *, table, new, old, old_columns):
    """The reverse: rebuild `old` on `old_columns`, then drop `new`. Fails if the new
    rule let in rows that the old one calls duplicates."""
    postgres = schema_editor.connection.vendor == "postgresql"
    concurrently = " CONCURRENTLY" if postgres else ""
    schema_editor.execute(
        f"CREATE UNIQUE INDEX{concurrently} IF NOT EXISTS {old} ON {table} ({old_columns})"
    )
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {new}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {new}")
