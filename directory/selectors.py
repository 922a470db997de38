"""Reads from the directory. Everything that serves a request starts from an org."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from directory.errors import NotFound
from directory.models import Org, ScimDirectory


def org_get(*, slug: str) -> Org:
    """The org with this slug, or NotFound (operators only: no admin check)."""
    try:
        return Org.objects.get(slug=slug)
    except Org.DoesNotExist:
        raise NotFound(f"No org with slug {slug!r}") from None


def org_list() -> QuerySet[Org]:
    """Every org, for operators."""
    return Org.objects.order_by("slug")


def org_list_for_admin(*, user: User | AnonymousUser) -> QuerySet[Org]:
    """The orgs this person administers."""
    if not user.is_authenticated:
        return Org.objects.none()
    return Org.objects.filter(admins__user=user).order_by("name", "slug")


def scim_directory_get(*, org: Org) -> ScimDirectory | None:
    """The org's SCIM directory that is not deleted (enabled or not), if any."""
    return org.scim_directories.filter(deleted_at__isnull=True).first()
