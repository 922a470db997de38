"""Idempotency keys are scoped by org and operation, not only by admin: an admin of two
orgs retrying with the same key on the second org got the first org's token back."""

import django.db.models.deletion
from django.db import migrations, models


def fill_org(apps, schema_editor):
    Replay = apps.get_model("tokens", "TokenIssueReplay")
    for replay in Replay.objects.select_related("token__directory").iterator():
        replay.org_id = replay.token.directory.org_id
        replay.save(update_fields=["org"])


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0001_initial"),
        ("tokens", "0002_admin_api_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="tokenissuereplay", name="tokenissuereplay_unique"),
        migrations.AddField(
            model_name="tokenissuereplay",
            name="org",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="directory.org",
            ),
        ),
        migrations.AddField(
            model_name="tokenissuereplay",
            name="operation",
            field=models.CharField(default="scim_token_issue", max_length=40),
        ),
        migrations.RunPython(fill_org, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tokenissuereplay",
            name="org",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="directory.org"
            ),
        ),
        migrations.AddConstraint(
            model_name="tokenissuereplay",
            constraint=models.UniqueConstraint(
                fields=("user", "org", "operation", "key"), name="tokenissuereplay_unique"
            ),
        ),
    ]
