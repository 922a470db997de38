"""The deprovisioning policy and the access groups become the org's (Org.deprovision,
Org.access_groups), no longer its SCIM directory's: they hold for every user of the
org, with a directory or without one, and deleting the directory keeps them.

Each org takes the settings of its directory that is not deleted. An org whose
directories are all deleted (or that never had one) had no policy but the default and
no access groups, and keeps those. Then every user's NOT_IN_ACCESS_GROUPS mark is set
from the org's access groups: unchanged where they were in step, cleared where a
directory deleted before the marks were lifted on delete left them behind.

The directory's columns go in 0013, in a transaction of their own. Backwards, each org's
settings go back to its live directory (an org without one loses them, as it did)."""

from django.db import migrations, models

NOT_IN_ACCESS_GROUPS = "NOT_IN_ACCESS_GROUPS"


def _marks_refresh(apps, org_groups):
    """Set every user's mark from `org_groups` ({org id: access group ids}): the orgs
    not in it restrict nobody."""
    EndUser = apps.get_model("directory", "EndUser")
    Membership = apps.get_model("directory", "Membership")
    EndUser.objects.exclude(org_id__in=list(org_groups)).exclude(access="").update(access="")
    for org_id, group_ids in org_groups.items():
        users = EndUser.objects.filter(org_id=org_id)
        in_groups = Membership.objects.filter(group_id__in=group_ids).values("user_id")
        users.filter(id__in=in_groups).exclude(access="").update(access="")
        users.exclude(id__in=in_groups).exclude(access=NOT_IN_ACCESS_GROUPS).update(
            access=NOT_IN_ACCESS_GROUPS
        )


def to_orgs(apps, schema_editor):
    Org = apps.get_model("directory", "Org")
    ScimDirectory = apps.get_model("directory", "ScimDirectory")
    OrgGroup = Org.access_groups.through
    DirectoryGroup = ScimDirectory.access_groups.through
    org_groups = {}
    live = ScimDirectory.objects.filter(deleted_at__isnull=True).values_list(
        "id", "org_id", "deprovision"
    )
    for directory_id, org_id, deprovision in live.iterator():
        if deprovision != "disable":
            Org.objects.filter(pk=org_id).update(deprovision=deprovision)
        group_ids = list(
            DirectoryGroup.objects.filter(scimdirectory_id=directory_id).values_list(
                "group_id", flat=True
            )
        )
        if group_ids:
            OrgGroup.objects.bulk_create(
                [OrgGroup(org_id=org_id, group_id=g) for g in group_ids], batch_size=1000
            )
            org_groups[org_id] = group_ids
    _marks_refresh(apps, org_groups)


def to_directories(apps, schema_editor):
    Org = apps.get_model("directory", "Org")
    ScimDirectory = apps.get_model("directory", "ScimDirectory")
    OrgGroup = Org.access_groups.through
    DirectoryGroup = ScimDirectory.access_groups.through
    org_groups = {}
    live = ScimDirectory.objects.filter(deleted_at__isnull=True).values_list(
        "id", "org_id", "org__deprovision"
    )
    for directory_id, org_id, deprovision in live.iterator():
        ScimDirectory.objects.filter(pk=directory_id).update(deprovision=deprovision)
        group_ids = list(
            OrgGroup.objects.filter(org_id=org_id).values_list("group_id", flat=True)
        )
        if group_ids:
            DirectoryGroup.objects.bulk_create(
                [DirectoryGroup(scimdirectory_id=directory_id, group_id=g) for g in group_ids],
                batch_size=1000,
            )
            org_groups[org_id] = group_ids
    # Before this migration only a live directory restricted anyone.
    _marks_refresh(apps, org_groups)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0011_auditevent_via_scim"),
    ]

    operations = [
        migrations.AddField(
            model_name="org",
            name="deprovision",
            field=models.CharField(
                choices=[("disable", "Disable"), ("delete", "Delete")],
                default="disable",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="org",
            name="access_groups",
            field=models.ManyToManyField(blank=True, related_name="+", to="directory.group"),
        ),
        # The Django admin writes these settings through the audited services.
        migrations.AlterField(
            model_name="auditevent",
            name="via",
            field=models.CharField(
                choices=[
                    ("console", "Console"),
                    ("api", "API"),
                    ("cli", "manage.py"),
                    ("scim", "SCIM"),
                    ("admin", "Django admin"),
                ],
                max_length=10,
            ),
        ),
        migrations.RunPython(to_orgs, to_directories),
    ]
