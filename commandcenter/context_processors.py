from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from directory.selectors import org_list_for_admin


def console(request: HttpRequest) -> dict[str, Any]:
    """The orgs the signed-in admin can switch between, for the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"admin_orgs": org_list_for_admin(user=user)}
