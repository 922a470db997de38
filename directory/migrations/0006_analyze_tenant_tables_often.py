"""Keep the planner's statistics current as a new org's directory grows (Postgres only).

By default autovacuum re-analyzes a table after 10% of its rows change. In a table
shared by many orgs that is rare: an org synced after the last ANALYZE is unknown to the
statistics, the planner takes it for a handful of rows, and reads `userName eq` lookups
through the plain org index, filtering every one of the org's users (10 ms per lookup at
10,000 users, and growing) instead of an index on (userName, org). Analyzing after
every 5,000 changed rows, whatever the table size, bounds that window; ANALYZE samples a
fixed 30,000 rows, so each run costs the same at any size.
"""

from django.db import migrations

TABLES = ("directory_enduser", "directory_useremail", "directory_membership", "directory_group")


def _alter(schema_editor, clause):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} {clause}")


def tune(apps, schema_editor):
    _alter(
        schema_editor,
        "SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000)",
    )


def untune(apps, schema_editor):
    _alter(schema_editor, "RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0005_prefix_search_indexes"),
    ]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
