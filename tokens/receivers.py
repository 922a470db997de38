"""Cached tokens forget their directory and org the moment either changes.

An authenticated token is cached (tokens.auth) with a pickled copy of its directory (its
name rule, and the org's access groups it remembers) and of its org (its deprovisioning
policy, its SCIM rate limit). Whatever changes one of
those rows must drop the copies at once, also an operator's edit in the Django admin. The
domain does not know about this cache (it sits below tokens), so tokens listens instead:
`connect()`, called when the app is ready, connects the receivers below to the domain
models' signals.

Why receivers and not a version counter in the cache key:
- A request knows only its token's digest. A key with the directory's or org's version in
  it would first need those versions: one more Redis round trip (or a query) on every SCIM
  request, where scim.throttle now reads the cached token and counts both rate windows in
  a single one.
- The versions would still have to be bumped by every write to a directory or an org, by
  hooks on these same signals or by calls in every service (the calls this replaces, which
  the admin never made): more cost, and no more writes covered.
- Receivers see save() and delete() whoever calls them: the services, the Django admin, a
  shell, cascades (Django sends the signals of every row it deletes of a model that has
  receivers), and every change to an org's access groups (m2m_changed, and a
  group's deletion, which takes its rows in the access groups with it). They hold no
  rule, only the cache's upkeep.

What signals do not see is QuerySet.update(), bulk_create() and raw SQL. Such writes to
these rows are, today:
- Org.seats_used, a conditional UPDATE per seat taken or freed (directory.services): a
  counter the database owns, which nothing reads from a cached org; evicting on every
  seat would empty the cache during a sync;
- ScimToken.last_used_*, written by tokens.auth.token_touch: not worth an eviction;
- ScimToken.revoked_at in scim_directory_delete, followed by the directory's save(), which
  forgets its tokens.
Nothing writes the rows of the access groups' table (Org.access_groups.through)
directly, which no signal would report either.
A new write of that kind that cached tokens must see calls token_cache_forget itself.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from directory.models import Group, Org, ScimDirectory
from tokens.models import ScimToken
from tokens.services import cache_enabled, token_cache_forget


def _forget(tokens: QuerySet[ScimToken]) -> None:
    # Without a shared cache nothing is cached: spare the query.
    if cache_enabled():
        token_cache_forget(tokens.values_list("digest", flat=True))


def _org_saved(sender: type[Model], instance: Org, created: bool, **kwargs: Any) -> None:
    if not created:
        _forget(ScimToken.objects.filter(directory__org_id=instance.pk))


def _directory_saved(
    sender: type[Model], instance: ScimDirectory, created: bool, **kwargs: Any
) -> None:
    if not created:
        _forget(ScimToken.objects.filter(directory_id=instance.pk))


def _token_changed(sender: type[Model], instance: ScimToken, **kwargs: Any) -> None:
    # Saved (revoked in the admin, say) or deleted, also by a cascade from its
    # directory or org. A new token is in no cache yet.
    if not kwargs.get("created"):
        token_cache_forget([instance.digest])


def _access_groups_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    # add(), remove(), set() and clear() on an org's access groups (the rows of an
    # auto-created many-to-many table have no save or delete signals of their own).
    if not reverse and action in ("post_add", "post_remove", "post_clear"):
        _forget(ScimToken.objects.filter(directory__org_id=instance.pk))
    elif reverse and action in ("post_add", "post_remove"):
        _forget(ScimToken.objects.filter(directory__org_id__in=pk_set or ()))
    elif reverse and action == "pre_clear":
        _forget(ScimToken.objects.filter(directory__org__access_groups=instance.pk))


def _group_deleting(sender: type[Model], instance: Group, **kwargs: Any) -> None:
    # Deleting a group deletes its rows in the orgs' access groups, silently.
    _forget(ScimToken.objects.filter(directory__org__access_groups=instance.pk))


def connect() -> None:
    """Connect the receivers (TokensConfig.ready calls this once)."""
    post_save.connect(_org_saved, sender=Org, dispatch_uid="tokens.org_saved")
    post_save.connect(_directory_saved, sender=ScimDirectory, dispatch_uid="tokens.dir_saved")
    for signal in (post_save, post_delete):
        signal.connect(_token_changed, sender=ScimToken, dispatch_uid="tokens.token_changed")
    m2m_changed.connect(
        _access_groups_changed,
        sender=Org.access_groups.through,
        dispatch_uid="tokens.access_groups_changed",
    )
    pre_delete.connect(_group_deleting, sender=Group, dispatch_uid="tokens.group_deleting")
