"""Group displayName uniqueness by directory.names.display_name_key (the userName rule of
0009) instead of LOWER(display_name), for the same reason: Python's and the database's
folding disagreed, so a lookup could miss the group the unique index collided with.

Same steps as 0009 (directory/migrations/_name_keys.py): add the column, fill it in
batches in (org, created_at, id) order (where two groups of one org collide, the oldest
keeps the key, the others stay NULL and `manage.py scim collisions SLUG` lists them),
then build the unique (display_name_key, org) index CONCURRENTLY on Postgres and drop
the old one. Key first, as the LOWER() index was: equality on both columns reads it
either way, and a lookup by name alone still can.
"""

from django.db import migrations, models

import directory.models
from directory.migrations._name_keys import fill_keys, swap_unique_index, unswap_unique_index

BATCH = 2000
TABLE = "directory_group"
NEW = "group_unique_displayname_key"
OLD = "group_unique_displayname"


def fill(apps, schema_editor):
    fill_keys(
        schema_editor.connection,
        table=TABLE,
        source="display_name",
        column="display_name_key",
        batch=BATCH,
    )


def index(apps, schema_editor):
    swap_unique_index(
        schema_editor, table=TABLE, new=NEW, columns="display_name_key, org_id", old=OLD
    )


def unindex(apps, schema_editor):
    unswap_unique_index(
        schema_editor, table=TABLE, new=NEW, old=OLD, old_columns="LOWER(display_name), org_id"
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0009_enduser_user_name_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="group",
            name="display_name_key",
            field=directory.models.NameKeyField(
                editable=False, max_length=600, null=True, source="display_name"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(index, unindex, elidable=False)],
            state_operations=[
                migrations.RemoveConstraint(model_name="group", name=OLD),
                migrations.AddConstraint(
                    model_name="group",
                    constraint=models.UniqueConstraint(
                        fields=("display_name_key", "org"), name=NEW
                    ),
                ),
            ],
        ),
    ]
