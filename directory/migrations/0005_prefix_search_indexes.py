"""Prefix-search indexes for the console's Users search, on Postgres only.

`lower(col) LIKE 'abc%'` can use a btree index only under the C collation or with the
`text_pattern_ops` operator class, which Django cannot express portably; SQLite (the
embedded first-run database) has no operator classes and needs none at its sizes.
Built CONCURRENTLY so a directory keeps taking SCIM writes while they build.
"""

from django.db import migrations

INDEXES = {
    "enduser_prefix_username": ("directory_enduser", "user_name"),
    "enduser_prefix_displayname": ("directory_enduser", "display_name"),
    "enduser_prefix_givenname": ("directory_enduser", "given_name"),
    "enduser_prefix_familyname": ("directory_enduser", "family_name"),
    "useremail_prefix_value": ("directory_useremail", "value"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} (org_id, lower({column}) text_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0004_audit_events"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
