"""Substring search for the console's Users and Groups tables, on Postgres only.

`lower(col) LIKE '%abc%'` (an email domain, the middle of a name) can use a GIN index
of the column's trigrams (pg_trgm, a trusted extension since Postgres 13: the database's
owner may create it). They replace the prefix indexes of 0005, which only a prefix
search could use. SQLite (the embedded first-run database) scans, at its sizes. Built
CONCURRENTLY so a directory keeps taking SCIM writes while they build.
"""

from django.db import migrations

TRIGRAM = {
    "enduser_trgm_username": ("directory_enduser", "user_name"),
    "enduser_trgm_displayname": ("directory_enduser", "display_name"),
    "enduser_trgm_givenname": ("directory_enduser", "given_name"),
    "enduser_trgm_familyname": ("directory_enduser", "family_name"),
    "useremail_trgm_value": ("directory_useremail", "value"),
    "group_trgm_displayname": ("directory_group", "display_name"),
}
PREFIX = {  # 0005's
    "enduser_prefix_username": ("directory_enduser", "user_name"),
    "enduser_prefix_displayname": ("directory_enduser", "display_name"),
    "enduser_prefix_givenname": ("directory_enduser", "given_name"),
    "enduser_prefix_familyname": ("directory_enduser", "family_name"),
    "useremail_prefix_value": ("directory_useremail", "value"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} USING gin (lower({column}) gin_trgm_ops)"
        )
    for name in PREFIX:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in PREFIX.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} (org_id, lower({column}) text_pattern_ops)"
        )
    for name in TRIGRAM:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0018_ldap_directory"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
