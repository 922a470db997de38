"""The console's Settings > Webhooks: an org's endpoints, adding one (its secret shown
once), and one endpoint's delivery log with test, retry, replay, secret rotation,
enable/disable and removal. Pages go through get_org_for_admin (404 to non-admins)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from commandcenter.params import parse_when
from commandcenter.views import actor_of, get_org_for_admin
from directory.errors import DirectoryError, NotFound
from directory.models import Org
from directory.services import changes_retention_set
from webhooks import services
from webhooks.delivery import endpoint_test
from webhooks.models import WebhookEndpoint
from webhooks.services import EVENT_TYPES

PAGE_SIZE = 50


class EndpointForm(forms.Form):
    url = forms.CharField(label="Endpoint URL", max_length=2000)
    description = forms.CharField(label="Description (optional)", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events (none checked: all of them)",
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _endpoint(org: Org, endpoint_id: str) -> WebhookEndpoint:
    try:
        return services.endpoint_get(org=org, endpoint_id=endpoint_id)
    except NotFound:
        raise Http404("No such webhook endpoint") from None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _list_context(org: Org, **extra: Any) -> dict[str, Any]:
    return {
        "org": org,
        "endpoints": list(org.webhook_endpoints.all()),
        "form": EndpointForm(),
        "limit": services.MAX_ENDPOINTS,
        "section": "settings",
    } | extra


@login_required
def webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    if request.method != "POST":
        return render(request, "console/webhooks.html", _list_context(org))
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            issued = services.endpoint_add(
                org=org,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
                actor=actor_of(request),
            )
        except DirectoryError as e:
            form.add_error("url" if e.field == "url" else None, e.message)
        else:
            messages.success(request, f"Webhook endpoint added: {issued.endpoint.url}")
            # Rendered in this response only: the secret is shown once.
            return _no_store(
                render(
                    request,
                    "console/webhooks.html",
                    _list_context(org, new_secret=issued.secret, new_endpoint=issued.endpoint),
                )
            )
    return render(request, "console/webhooks.html", _list_context(org, form=form), status=400)


@login_required
@require_POST
def webhooks_retention(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        days = int(request.POST.get("days", ""))
        changes_retention_set(org=org, days=days, actor=actor_of(request))
    except ValueError:
        messages.error(request, "Give a number of days.")
    except DirectoryError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Changes are kept {days} days.")
    return redirect("webhooks", slug=org.slug)


@login_required
def webhook(request: HttpRequest, slug: str, endpoint_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    endpoint = _endpoint(org, endpoint_id)
    return render(request, "console/webhook.html", _detail_context(request, org, endpoint))


def _detail_context(
    request: HttpRequest, org: Org, endpoint: WebhookEndpoint, **extra: Any
) -> dict[str, Any]:
    deliveries = endpoint.deliveries.select_related("change").order_by("-attempted_at", "-id")
    return {
        "org": org,
        "endpoint": endpoint,
        "secrets": services.secrets_active(endpoint=endpoint),
        "page": Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": "",
        "section": "settings",
    } | extra


@login_required
@require_POST
def webhook_action(request: HttpRequest, slug: str, endpoint_id: str, action: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    endpoint = _endpoint(org, endpoint_id)
    actor = actor_of(request)
    back = redirect("webhook", slug=org.slug, endpoint_id=endpoint.pk)
    try:
        if action == "test":
            attempt = endpoint_test(endpoint)
            if attempt.succeeded:
                messages.success(
                    request, f"Test sent: HTTP {attempt.status} in {attempt.latency_ms} ms."
                )
            else:
                messages.error(request, f"Test failed: {attempt.error}.")
        elif action == "retry":
            services.endpoint_retry(endpoint=endpoint, actor=actor)
            messages.success(request, "The waiting change is tried again within seconds.")
        elif action == "replay":
            since = parse_when(request.POST.get("since", ""))
            if since is None:
                messages.error(request, "Give the time to replay from.")
                return back
            count = services.endpoint_replay(endpoint=endpoint, since=since, actor=actor)
            messages.success(
                request, f"{count:,} changes since {since:%Y-%m-%d %H:%M} UTC will be sent again."
            )
        elif action == "enable" or action == "disable":
            services.endpoint_update(endpoint=endpoint, enabled=action == "enable", actor=actor)
            messages.success(request, f"Endpoint {action}d.")
        elif action == "rotate":
            issued = services.secret_rotate(endpoint=endpoint, actor=actor)
            messages.success(request, "New signing secret generated. Copy it now.")
            return _no_store(
                render(
                    request,
                    "console/webhook.html",
                    _detail_context(request, org, endpoint, new_secret=issued.secret),
                )
            )
        elif action == "remove":
            services.endpoint_remove(endpoint=endpoint, actor=actor)
            messages.success(request, f"Webhook endpoint removed: {endpoint.url}")
            return redirect("webhooks", slug=org.slug)
        else:
            raise Http404("No such action")
    except DirectoryError as e:
        messages.error(request, e.message)
    return back
