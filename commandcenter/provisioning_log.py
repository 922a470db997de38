"""The console's Provisioning log, under Settings > SCIM: every request the org's IdP
sent to its SCIM URL (directory.models.ScimRequest), with filters, and one request's
masked bodies with the events it caused. Pages go through get_org_for_admin (404 to
non-admins)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from commandcenter.paging import page_of
from commandcenter.params import parse_when
from commandcenter.views import get_org_for_admin
from directory import request_log
from directory.errors import NotFound
from directory.masking import body_pretty
from directory.models import ScimRequest

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FILTERS = ("status", "method", "resource", "resource_id", "idp", "from", "to")


@login_required
def scim_requests(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    f = {k: request.GET.get(k, "").strip() for k in FILTERS}
    rows = request_log.scim_request_list(
        org=org,
        status_class=f["status"],
        method=f["method"],
        resource=f["resource"],
        resource_id=f["resource_id"] or None,
        idp=f["idp"],
        since=parse_when(f["from"]),
        until=parse_when(f["to"]),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/scim_requests.html",
        {
            "org": org,
            "page": page_of(request, rows),
            "filters": f,
            "filtered": any(f.values()),
            "query": query.urlencode(),
            "status_classes": request_log.SCIM_REQUEST_STATUS_CLASSES,
            "methods": METHODS,
            "resources": request_log.SCIM_REQUEST_RESOURCES,
            "idps": ScimRequest.Idp.choices,
            "section": "settings",
        },
    )


@login_required
def scim_request(request: HttpRequest, slug: str, request_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        row = request_log.scim_request_get(org=org, request_id=request_id)
    except NotFound:
        raise Http404("No such request") from None
    return render(
        request,
        "console/scim_request.html",
        {
            "org": org,
            "row": row,
            "resource": request_log.scim_request_resource(row=row),
            "events": request_log.scim_request_events(row=row),
            "request_body": body_pretty(row.request_body),
            "response_body": body_pretty(row.response_body),
            "section": "settings",
        },
    )
