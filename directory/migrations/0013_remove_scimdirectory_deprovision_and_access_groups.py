"""The SCIM directory's deprovisioning policy and access groups, now the org's (0012)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0012_org_deprovision_and_access_groups"),
    ]

    operations = [
        migrations.RemoveField(model_name="scimdirectory", name="access_groups"),
        migrations.RemoveField(model_name="scimdirectory", name="deprovision"),
    ]
