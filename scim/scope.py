"""Tenant scoping: every SCIM query starts from `scoped_queryset`, which starts from the
caller's org (known once the gate has authenticated the token).

django-scim2's own views, which would call the hooks of SCIM_SERVICE_PROVIDER, never run:
every endpoint here is a view of scim.views, so there are no hooks to configure."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from directory.models import EndUser, Group
from directory.selectors import IDP_VISIBLE_USERS

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
