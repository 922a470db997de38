"""The org's SCIM directory: enable, disable, delete, and its policies (deprovisioning,
the name rule)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.errors import InvalidValue
from directory.models import Org, ScimDirectory, Source
from directory.selectors import scim_check_prerequisites
from directory.services._common import _forget_cached_tokens, _live_directory_lock
from directory.services.access import _access_refresh


@transaction.atomic
def scim_enable(*, org: Org, actor: Actor) -> ScimDirectory:
    """Switch SCIM on: re-enable the org's directory, or create one (a new Base URL)."""
    scim_check_prerequisites(org=org)
    # Lock the org so two concurrent enables cannot both create a directory.
    Org.objects.select_for_update().get(pk=org.pk)
    directory = org.scim_directories.filter(deleted_at__isnull=True).first()
    if directory is None:
        directory = ScimDirectory.objects.create(org=org, enabled=True)
    elif not directory.enabled:
        directory.enabled = True
        directory.save(update_fields=["enabled"])
    audit_record(org=org, actor=actor, action="scim.enable", target=str(directory.id))
    return directory


@transaction.atomic
def scim_disable(*, org: Org, actor: Actor) -> ScimDirectory:
    """Switch SCIM off: the Base URL answers 401 until SCIM is enabled again."""
    directory = _live_directory_lock(org=org)
    if directory.enabled:
        directory.enabled = False
        directory.save(update_fields=["enabled"])
    _forget_cached_tokens(directory)
    audit_record(org=org, actor=actor, action="scim.disable", target=str(directory.id))
    return directory


@transaction.atomic
def scim_policy_set(*, org: Org, deprovision: str, actor: Actor) -> ScimDirectory:
    """Choose what happens when the IdP deactivates or deletes a user:
    "disable" keeps the user, marked disabled; "delete" removes it and frees its seat."""
    if deprovision not in ScimDirectory.Deprovision.values:
        raise InvalidValue(
            f"Unknown deprovisioning action {deprovision!r}: use disable or delete",
            field="deprovision",
        )
    directory = _live_directory_lock(org=org)
    directory.deprovision = deprovision
    directory.save(update_fields=["deprovision"])
    _forget_cached_tokens(directory)
    audit_record(org=org, actor=actor, action="scim.policy", target=deprovision)
    return directory


@transaction.atomic
def scim_directory_delete(*, org: Org, actor: Actor) -> ScimDirectory:
    """Delete the org's SCIM directory: syncing stops (its tokens are revoked, its Base
    URL answers 401), its users and groups stay, as manual entries of no directory. Its
    deprovisioning policy and access groups go with it, so access is no longer limited."""
    directory = _live_directory_lock(org=org)
    now = timezone.now()
    _forget_cached_tokens(directory)
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    directory.users.update(directory=None, source=Source.MANUAL)
    directory.groups.update(directory=None, source=Source.MANUAL)
    directory.enabled = False
    directory.deleted_at = now
    directory.save(update_fields=["enabled", "deleted_at"])
    # Its access groups went with it: nobody is restricted any more, so no mark stays.
    _access_refresh(org=org, directory=None, user_ids=None)
    audit_record(org=org, actor=actor, action="scim.delete", target=str(directory.id))
    return directory


@transaction.atomic
def scim_name_rule_set(*, org: Org, enabled: bool, actor: Actor) -> ScimDirectory:
    """Switch the optional rule that refuses `@ , # $ !` in name fields."""
    directory = _live_directory_lock(org=org)
    changed = directory.reject_special_characters != enabled
    directory.reject_special_characters = enabled
    directory.save(update_fields=["reject_special_characters"])
    _forget_cached_tokens(directory)
    if changed:
        audit_record(org=org, actor=actor, action="scim.name_rule", target=str(enabled).lower())
    return directory
