"""The web console: Directory (Users, Groups), Events, the audit log and API keys; the
org's settings are in commandcenter.org_settings.

Views parse, call one selector or service, and render. Every org page goes through
get_org_for_admin, which answers 404 to anyone who does not administer the org."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from commandcenter import exports
from commandcenter.charts import activity_chart
from commandcenter.forms import (
    ApiKeyForm,
    ManualGroupForm,
    ManualUserForm,
)
from commandcenter.paging import page_of
from commandcenter.params import parse_when
from commandcenter.templatetags.console import thousands
from directory import selectors, services
from directory.audit import Actor
from directory.errors import DirectoryError
from directory.models import Org, ProvisioningEvent, Source
from directory.services import admin_mfa
from tokens.services import (
    api_key_issue,
    api_key_revoke,
)


def get_org_for_admin(request: HttpRequest, slug: str) -> Org:
    org = selectors.org_for_admin(user=request.user, slug=slug)
    if org is None:
        raise Http404("No such org")
    return org


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def actor_of(request: HttpRequest) -> Actor:
    return Actor(who=user_of(request).username, via="console", ip=request.META.get("REMOTE_ADDR"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    orgs = list(selectors.org_list_for_admin(user=request.user))
    if len(orgs) == 1:
        return redirect("overview", slug=orgs[0].slug)
    return render(request, "console/home.html", {"orgs": orgs})


@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    hours = selectors.event_activity_hourly(org=org, now=timezone.now())
    return render(
        request,
        "console/overview.html",
        {
            "org": org,
            "counts": selectors.org_overview(org=org),
            "chart": activity_chart(hours),
            "section": "overview",
        },
    )


@staff_member_required
def operator_activity(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("directory.view_provisioningevent"):
        raise PermissionDenied
    now = timezone.now()
    return render(
        request,
        "admin/activity.html",
        {
            **admin.site.each_context(request),
            "title": "Provisioning activity",
            "chart": activity_chart(selectors.event_activity_hourly_all(now=now)),
            "orgs": selectors.org_activity_list(now=now),
        },
    )


# Directory -------------------------------------------------------------------------


USER_FILTERS = ("q", "status", "source", "group", "seat", "signin", "sort")


def _user_filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "") for k in USER_FILTERS}


@login_required
def users(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    f = _user_filters(request)
    page = page_of(request, selectors.user_list(org=org, **f))
    return render(
        request,
        "console/users.html",
        {
            "org": org,
            "page": page,
            "filters": f,
            "filtered": any(v for k, v in f.items() if k != "sort"),
            "query": _query_without_page(request),
            "groups": selectors.group_choices(org=org),
            "sources": Source.choices,
            # Counted only when it can show: every seat is taken.
            "waiting_for_seat": org.seats_used >= org.seats
            and selectors.users_waiting_for_seat_count(org=org),
            # Only an empty table says whether SCIM is set up.
            "directory": None if page.object_list else selectors.scim_directory_get(org=org),
            "new_user_form": ManualUserForm(),
            "section": "users",
        },
    )


@login_required
def users_export(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    org = get_org_for_admin(request, slug)
    f = _user_filters(request)
    described = ", ".join(f"{k}={v}" for k, v in f.items() if v and k != "sort")
    services.users_export_record(org=org, actor=actor_of(request), what=described or "all")
    return exports.users_csv(selectors.user_list(org=org, **f), f"{org.slug}-users.csv")


BULK_ACTIONS = {
    "seat-assign": (services.users_seat_assign, "{n} user{s} got a seat."),
    "seat-revoke": (services.users_seat_revoke, "{n} seat{s} freed."),
    "delete": (services.users_delete_manual, "{n} user{s} deleted permanently."),
}


@login_required
@require_POST
def users_bulk(request: HttpRequest, slug: str) -> HttpResponse | StreamingHttpResponse:
    org = get_org_for_admin(request, slug)
    ids = request.POST.getlist("id")
    back = f"{reverse('users', args=[org.slug])}?{request.POST.get('back', '')}"
    action = request.POST.get("action", "")
    if action == "export":
        services.users_export_record(org=org, actor=actor_of(request), what=f"{len(ids)} selected")
        chosen = selectors.user_list(org=org).filter(id__in=_uuids(ids))
        return exports.users_csv(chosen, f"{org.slug}-users-selected.csv")
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose an action for the selected users.")
        return redirect(back)
    if not ids:
        messages.error(request, "Select some users first.")
        return redirect(back)
    service, done = BULK_ACTIONS[action]
    result = service(org=org, user_ids=ids, actor=actor_of(request))
    messages.success(request, done.format(n=thousands(result.done), s=pluralize(result.done)))
    if result.skipped:
        shown = "; ".join(result.skipped[:5])
        more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
        messages.error(request, f"{len(result.skipped)} left as they were: {shown}{more}.")
    return redirect(back)


def _uuids(raw: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in raw:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


@login_required
@require_POST
def user_new(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = ManualUserForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("users", slug=org.slug)
    try:
        user = services.user_add(
            org=org,
            email=form.cleaned_data["user_name"],
            given_name=form.cleaned_data["given_name"],
            family_name=form.cleaned_data["family_name"],
            actor=actor_of(request),
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("users", slug=org.slug)
    messages.success(request, f"{user.user_name} was added.")
    return redirect("user-detail", slug=org.slug, user_id=user.id)


@login_required
def user_detail(request: HttpRequest, slug: str, user_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    user = selectors.user_get(org=org, user_id=user_id)
    if user is None:
        raise Http404("No such user")
    return render(
        request,
        "console/user_detail.html",
        {
            "org": org,
            "person": user,
            "groups": user.groups.order_by("display_name"),
            "events": selectors.event_list(org=org, resource_id=user.id, with_links=True)[:20],
            "section": "users",
        },
    )


@login_required
@require_POST
def user_delete(request: HttpRequest, slug: str, user_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    user = selectors.user_get(org=org, user_id=user_id)
    if user is None:
        raise Http404("No such user")
    services.user_delete(user=user, actor=actor_of(request))
    messages.success(request, f"{user.user_name} was deleted permanently; their seat is free.")
    return redirect("users", slug=org.slug)


@login_required
@require_POST
def user_seat(request: HttpRequest, slug: str, user_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    user = selectors.user_get(org=org, user_id=user_id)
    if user is None:
        raise Http404("No such user")
    try:
        if request.POST.get("seat") == "revoke":
            services.seat_revoke(user=user, actor=actor_of(request))
            messages.success(request, f"The seat of {user.user_name} is free.")
        else:
            services.seat_assign(user=user, actor=actor_of(request))
            messages.success(request, f"{user.user_name} has a seat.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return redirect("user-detail", slug=org.slug, user_id=user.id)


@login_required
def groups(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    q = request.GET.get("q", "")
    sort = request.GET.get("sort", "")
    return render(
        request,
        "console/groups.html",
        {
            "org": org,
            "page": page_of(request, selectors.group_list(org=org, q=q, sort=sort)),
            "q": q,
            "query": _query_without_page(request),
            "new_group_form": ManualGroupForm(),
            "section": "groups",
        },
    )


@login_required
def groups_export(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    org = get_org_for_admin(request, slug)
    q, sort = request.GET.get("q", ""), request.GET.get("sort", "")
    return exports.groups_csv(
        selectors.group_list(org=org, q=q, sort=sort), f"{org.slug}-groups.csv"
    )


@login_required
@require_POST
def group_new(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = ManualGroupForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A group needs a name.")
        return redirect("groups", slug=org.slug)
    try:
        group = services.group_create(
            org=org,
            display_name=form.cleaned_data["display_name"],
            source=Source.MANUAL,
            actor=actor_of(request),
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("groups", slug=org.slug)
    messages.success(request, f"Group {group.display_name} was added.")
    return redirect("group-detail", slug=org.slug, group_id=group.id)


@login_required
def group_detail(request: HttpRequest, slug: str, group_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    group = selectors.group_get(org=org, group_id=group_id)
    if group is None:
        raise Http404("No such group")
    members = group.members.order_by("user_name")
    return render(
        request,
        "console/group_detail.html",
        {
            "org": org,
            "group": group,
            "page": page_of(request, members),
            "query": _query_without_page(request),
            "section": "groups",
        },
    )


# Events ------------------------------------------------------------------------------


@login_required
def events(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    f = {k: request.GET.get(k, "") for k in ("outcome", "action", "from", "to", "q", "resource")}
    items = selectors.event_list(
        org=org,
        outcome=f["outcome"],
        action=f["action"],
        since=parse_when(f["from"]),
        until=parse_when(f["to"]),
        q=f["q"],
        resource_id=f["resource"] or None,
        with_links=True,
    )
    return render(
        request,
        "console/events.html",
        {
            "org": org,
            "page": page_of(request, items),
            "filters": f,
            "query": _query_without_page(request),
            "outcomes": ProvisioningEvent.Outcome.choices,
            "actions": ProvisioningEvent.Action.choices,
            "section": "events",
        },
    )


@login_required
def audit(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    return render(
        request,
        "console/audit.html",
        {
            "org": org,
            "page": page_of(request, selectors.audit_list(org=org)),
            "query": _query_without_page(request),
            "section": "settings",
        },
    )


# The admin's own account: password and API keys (per admin, for /api/v1/) -------------


@login_required
def password_changed(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Your password is changed. Your other sessions are signed out.")
    return redirect("api-keys")


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/api_keys.html",
        {
            "keys": user_of(request).api_keys.order_by("-created_at"),
            "form": ApiKeyForm(),
            "mfa_enrolled": admin_mfa.admin_mfa_enrolled(user=user_of(request)),
            "mfa_required": admin_mfa.admin_mfa_required(user=user_of(request)),
        },
    )


@login_required
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return redirect("api-keys")
    issued = api_key_issue(
        user=user_of(request),
        name=form.cleaned_data["name"],
        read_only=form.cleaned_data["read_only"],
    )
    response = render(
        request,
        "console/api_keys.html",
        {
            "keys": user_of(request).api_keys.order_by("-created_at"),
            "form": ApiKeyForm(),
            "new_key": issued.plaintext,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    try:
        key = api_key_revoke(user=user_of(request), key_id=key_id)
    except DirectoryError as e:
        raise Http404(e.message) from None
    messages.success(request, f"API key {key.prefix}… is revoked.")
    return redirect("api-keys")
