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

from django.db import migrations, models

import directory.models
from directory.migrations._name_keys import fill_keys, swap_unique_index, unswap_unique_index

BATCH = 2000
TABLE = "directory_enduser"
NEW = "enduser_unique_username_key"
OLD = "enduser_unique_username"


def fill(apps, schema_editor):
    fill_keys(
        schema_editor.connection,
        table=TABLE,
        source="user_name",
        column="user_name_key",
        batch=BATCH,
    )


def unfill(apps, schema_editor):
    pass  # the column goes with RemoveField


def index(apps, schema_editor):
    swap_unique_index(
        schema_editor, table=TABLE, new=NEW, columns="user_name_key, org_id", old=OLD
    )


def unindex(apps, schema_editor):
    unswap_unique_index(
        schema_editor, table=TABLE, new=NEW, old=OLD, old_columns="LOWER(user_name), org_id"
    )


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
