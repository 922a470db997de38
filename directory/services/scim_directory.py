"""The org's SCIM directory: enable, disable, delete, and its name rule. (The org's
deprovisioning policy and access groups are in orgs and access: they outlive it.)"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.models import Org, ScimDirectory, Source
from directory.selectors import scim_check_prerequisites
from directory.services._common import _live_directory_lock
from directory.services.changes import Type, change_directory


@transaction.atomic
def scim_enable(*, org: Org, actor: Actor) -> ScimDirectory:
    """Switch SCIM on: re-enable the org's directory, or create one (a new Base URL)."""
    scim_check_prerequisites(org=org)
    # Lock the org so two concurrent enables cannot both create a directory.
    Org.objects.select_for_update().get(pk=org.pk)
    directory = org.scim_directories.filter(deleted_at__isnull=True).first()
    if directory is None:
        directory = ScimDirectory.objects.create(org=org, enabled=True)
        change_directory(directory=directory, type=Type.DIRECTORY_ENABLED)
    elif not directory.enabled:
        directory.enabled = True
        directory.save(update_fields=["enabled"])
        change_directory(directory=directory, type=Type.DIRECTORY_ENABLED)
    audit_record(org=org, actor=actor, action="scim.enable", target=str(directory.id))
    return directory


@transaction.atomic
def scim_disable(*, org: Org, actor: Actor) -> ScimDirectory:
    """Switch SCIM off: the Base URL answers 401 until SCIM is enabled again."""
    directory = _live_directory_lock(org=org)
    if directory.enabled:
        directory.enabled = False
        directory.save(update_fields=["enabled"])
        change_directory(directory=directory, type=Type.DIRECTORY_DISABLED)
    audit_record(org=org, actor=actor, action="scim.disable", target=str(directory.id))
    return directory


@transaction.atomic
def scim_directory_delete(*, org: Org, actor: Actor) -> ScimDirectory:
    """Delete the org's SCIM directory: syncing stops (its tokens are revoked, its Base
    URL answers 401), its users and groups stay, as manual entries of no directory. Its
    name rule goes with it. The org's deprovisioning policy and access groups stay, and
    so do the users' access marks: access stays limited as it was, and a directory
    enabled later works under the same policies."""
    directory = _live_directory_lock(org=org)
    now = timezone.now()
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    directory.users.update(directory=None, source=Source.MANUAL)
    directory.groups.update(directory=None, source=Source.MANUAL)
    directory.enabled = False
    directory.deleted_at = now
    directory.save(update_fields=["enabled", "deleted_at"])
    change_directory(directory=directory, type=Type.DIRECTORY_DELETED)
    audit_record(org=org, actor=actor, action="scim.delete", target=str(directory.id))
    return directory


@transaction.atomic
def scim_name_rule_set(*, org: Org, enabled: bool, actor: Actor) -> ScimDirectory:
    """Switch the optional rule that refuses `@ , # $ !` in name fields."""
    directory = _live_directory_lock(org=org)
    changed = directory.reject_special_characters != enabled
    directory.reject_special_characters = enabled
    directory.save(update_fields=["reject_special_characters"])
    if changed:
        audit_record(org=org, actor=actor, action="scim.name_rule", target=str(enabled).lower())
    return directory
