"""userName uniqueness by directory.names.user_name_key instead of LOWER(user_name).

Python's lower() and the database's LOWER() disagree on some letters (`İ`, `ς`, `ß`,
`ﬁ`, full-width forms; SQLite's LOWER() folds ASCII only), so a lookup could miss the
row the unique index then collided with. The key is computed in Python, by the same
function every write uses (imported, not copied), and the database only compares it.

1. Add the column, NULL for now (no rewrite of the table).
2. Fill it in batches of BATCH rows, each its own transaction, walking the users in
   (org, created_at, id) order on the enduser_org_created index. Where two users of
   one org have equal keys (they did not collide under LOWER), the oldest keeps the
   key and the others stay NULL, so no user is lost: `manage.py scim collisions SLUG`
   lists them for an operator, and the unique index ignores NULLs. Running it again
   (an interrupted migration) gives the same result.
3. Build the unique index (user_name_key, org) CONCURRENTLY on Postgres, then turn it
   into the constraint Django's state names, and drop the old LOWER(user_name) index
   only then, so uniqueness is enforced throughout. Users written between step 2 and
   the new code by the old code have no key: they show in `scim collisions` as
   colliding with no one, and their next update gives them one.
"""

from django.db import migrations, models, transaction

import directory.models
from directory.names import user_name_key

BATCH = 2000
TABLE = "directory_enduser"
NEW = "enduser_unique_username_key"
OLD = "enduser_unique_username"


def fill(apps, schema_editor):
    # Raw SQL for the walk: a row-value comparison resumes each batch on the index where
    # the last ended (Postgres and SQLite both read it as a range), and the ids and
    # dates go back to the database exactly as it returned them.
    connection = schema_editor.connection
    select = (
        f"SELECT id, org_id, created_at, user_name, user_name_key FROM {TABLE} "
        "{where} ORDER BY org_id, created_at, id LIMIT %s"
    )
    update = f"UPDATE {TABLE} SET user_name_key = %s WHERE id = %s"
    org_id, keys = None, set()
    after = None  # (org_id, created_at, id) of the last row seen
    while True:
        with connection.cursor() as cursor:
            if after is None:
                cursor.execute(select.format(where=""), [BATCH])
            else:
                cursor.execute(
                    select.format(where="WHERE (org_id, created_at, id) > (%s, %s, %s)"),
                    [*after, BATCH],
                )
            batch = cursor.fetchall()
        if not batch:
            return
        changed = []
        for id_, org, _created_at, name, stored in batch:
            if org != org_id:
                org_id, keys = org, set()
            key = user_name_key(name)
            value = None if key in keys else key
            keys.add(key)
            if stored != value:
                changed.append((value, id_))
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.executemany(update, changed)
        id_, org, created_at = batch[-1][:3]
        after = (org, created_at, id_)


def unfill(apps, schema_editor):
    pass  # the column goes with RemoveField


def index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {NEW} "
            f"ON {TABLE} (user_name_key, org_id)"
        )
        # What AddConstraint would have made, without its table lock for the build.
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {NEW} UNIQUE USING INDEX {NEW}")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD}")
    else:
        schema_editor.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {NEW} ON {TABLE} (user_name_key, org_id)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}")


def unindex(apps, schema_editor):
    # Back to LOWER(user_name): fails if the keys let in names that fold alike there.
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE UNIQUE INDEX{concurrently} IF NOT EXISTS {OLD} ON {TABLE} (LOWER(user_name), org_id)"
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {NEW}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {NEW}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0008_drop_org_indexes_covered_by_composites"),
    ]

    operations = [
        migrations.AddField(
            model_name="enduser",
            name="user_name_key",
            field=directory.models.NameKeyField(
                editable=False, max_length=600, null=True, source="user_name"
            ),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(index, unindex, elidable=False)],
            state_operations=[
                migrations.RemoveConstraint(model_name="enduser", name=OLD),
                migrations.AddConstraint(
                    model_name="enduser",
                    constraint=models.UniqueConstraint(
                        fields=("user_name_key", "org"), name=NEW
                    ),
                ),
            ],
        ),
    ]
