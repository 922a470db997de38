"""Functions named in SCIM_SERVICE_PROVIDER: tenant scoping and the auth predicate.

Every SCIM query starts from `scoped_queryset`, which starts from the caller's
org (known once the gate has authenticated the token). Must not import
django_scim.views (django-scim2 imports this module while loading its views).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from directory.models import EndUser, Group
from directory.selectors import IDP_VISIBLE_USERS


def extra_filter_kwargs_getter(model: type[Model]) -> Any:
    """GET_EXTRA_MODEL_FILTER_KWARGS_GETTER: the filter that confines `model` to the
    request's org. Users the IdP deleted under the "disable" policy stay in the
    directory but are invisible to SCIM."""

    def extra_filter_kwargs(request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return scope_kwargs(model, getattr(request, "scim_org", None))

    return extra_filter_kwargs


# The users SCIM sees of their org: the domain's rule (not those the IdP removed).
SCIM_VISIBLE_USERS = IDP_VISIBLE_USERS


def scope_kwargs(model: type[Model], org: Any) -> dict[str, Any]:
    """The filter that confines `model` to `org` (an Org or its id), as SCIM sees it."""
    if model is EndUser:
        return {"org": org, **SCIM_VISIBLE_USERS}
    return {"org": org}


def scoped_queryset(org: Any, model: type[EndUser] | type[Group]) -> QuerySet[Any]:
    """`org`'s rows of `model`, visible to SCIM."""
    return model.objects.filter(**scope_kwargs(model, org))


def is_authenticated_predicate(user: Any) -> bool:
    """GET_IS_AUTHENTICATED_PREDICATE. SCIM requests authenticate with a token, not a
    Django user; the views check it, so this only answers for the library's defaults."""
    return bool(getattr(user, "is_authenticated", False))


def user_model() -> type[EndUser]:
    """USER_MODEL_GETTER: SCIM Users are the directory's end users, not Django logins."""
    return EndUser
