"""SCIM among the interfaces an Actor comes through (directory.audit.scim_actor): the
provisioning services take an actor, and an IdP's SCIM client is one. Choices only:
nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0010_group_display_name_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="via",
            field=models.CharField(
                choices=[
                    ("console", "Console"),
                    ("api", "API"),
                    ("cli", "manage.py"),
                    ("scim", "SCIM"),
                ],
                max_length=10,
            ),
        ),
    ]
