"""Drop the plain org_id indexes of users and events.

Every (org, ...) index of those tables starts with org_id, so these two only cost a
write per row created. Dropped by name rather than by AlterField, which on Postgres
would also drop and re-validate the foreign key over the whole table; CONCURRENTLY so
SCIM writes go on meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "directory_enduser_org_id_72c567ee": "directory_enduser",
    "directory_provisioningevent_org_id_45c23612": "directory_provisioningevent",
}


def _concurrently(schema_editor):
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {name}")


def restore(apps, schema_editor):
    for name, table in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS {name} ON {table} (org_id)"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0007_drop_duplicate_useremail_user_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="enduser",
                    name="org",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="users",
                        to="directory.org",
                    ),
                ),
                migrations.AlterField(
                    model_name="provisioningevent",
                    name="org",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="directory.org",
                    ),
                ),
            ],
        )
    ]
