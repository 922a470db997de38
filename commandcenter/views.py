from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from directory.selectors import org_list_for_admin


@login_required
def home(request: HttpRequest) -> HttpResponse:
    orgs = list(org_list_for_admin(user=request.user))
    return render(request, "console/home.html", {"orgs": orgs})
