"""The web console: Directory (Users, Groups), Events and Settings > Identity and Access.

Views parse, call one selector or service, and render. Every org page goes through
get_org_for_admin, which answers 404 to anyone who does not administer the org."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from commandcenter.forms import (
    AccessPolicyForm,
    ApiKeyForm,
    ConfirmSlugForm,
    DeprovisionForm,
    IdentityProviderForm,
    JitForm,
    ManualGroupForm,
    ManualUserForm,
    NameRuleForm,
    SummaryForm,
    TokenForm,
)
from commandcenter.params import parse_when
from directory import selectors, services
from directory.audit import Actor
from directory.errors import DirectoryError
from directory.models import IdentityProvider, Org, ProvisioningEvent, Source
from directory.saml_metadata import certificates_expiring, not_after
from directory.services.idp import sp_values
from tokens.services import (
    MAX_ACTIVE_TOKENS,
    api_key_issue,
    api_key_revoke,
    token_issue,
    token_revoke,
)

PAGE_SIZE = 50


def get_org_for_admin(request: HttpRequest, slug: str) -> Org:
    org = selectors.org_for_admin(user=request.user, slug=slug)
    if org is None:
        raise Http404("No such org")
    return org


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _actor(request: HttpRequest) -> Actor:
    return Actor(who=_user(request).username, via="console", ip=request.META.get("REMOTE_ADDR"))


def _page(request: HttpRequest, items: Any) -> Page[Any]:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    orgs = list(selectors.org_list_for_admin(user=request.user))
    if len(orgs) == 1:
        return redirect("users", slug=orgs[0].slug)
    return render(request, "console/home.html", {"orgs": orgs})


# Directory -------------------------------------------------------------------------


@login_required
def users(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    f = {k: request.GET.get(k, "") for k in ("q", "status", "source", "group", "seat", "signin")}
    page = _page(request, selectors.user_list(org=org, **f))
    return render(
        request,
        "console/users.html",
        {
            "org": org,
            "page": page,
            "filters": f,
            "query": _query_without_page(request),
            "groups": selectors.group_choices(org=org),
            "sources": Source.choices,
            "new_user_form": ManualUserForm(),
            "section": "users",
        },
    )


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
            actor=_actor(request),
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
            "events": selectors.event_list(org=org, resource_id=user.id)[:20],
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
    services.user_delete(user=user, actor=_actor(request))
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
            services.seat_revoke(user=user, actor=_actor(request))
            messages.success(request, f"The seat of {user.user_name} is free.")
        else:
            services.seat_assign(user=user, actor=_actor(request))
            messages.success(request, f"{user.user_name} has a seat.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return redirect("user-detail", slug=org.slug, user_id=user.id)


@login_required
def groups(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    q = request.GET.get("q", "")
    return render(
        request,
        "console/groups.html",
        {
            "org": org,
            "page": _page(request, selectors.group_list(org=org, q=q)),
            "q": q,
            "query": _query_without_page(request),
            "new_group_form": ManualGroupForm(),
            "section": "groups",
        },
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
            actor=_actor(request),
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
            "page": _page(request, members),
            "query": _query_without_page(request),
            "section": "groups",
        },
    )


# Events ------------------------------------------------------------------------------


@login_required
def events(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    f = {k: request.GET.get(k, "") for k in ("outcome", "action", "from", "to")}
    items = selectors.event_list(
        org=org,
        outcome=f["outcome"],
        action=f["action"],
        since=parse_when(f["from"]),
        until=parse_when(f["to"]),
    )
    return render(
        request,
        "console/events.html",
        {
            "org": org,
            "page": _page(request, items),
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
            "page": _page(request, selectors.audit_list(org=org)),
            "query": _query_without_page(request),
            "section": "settings",
        },
    )


# Settings > Identity and Access > End User -------------------------------------------


def _certificates(idp: IdentityProvider | None) -> list[dict[str, Any]]:
    """The IdP's signing certificates as the page lists them, each marked when it expires
    within saml_metadata.EXPIRY_WARNING (or has expired)."""
    if idp is None or idp.protocol != IdentityProvider.Protocol.SAML:
        return []
    now = timezone.now()
    expiring = {c["sha256"] for c in certificates_expiring(idp.certificates, now=now)}
    return [
        {
            "sha256": c["sha256"],
            "not_after": not_after(c),
            "expiring": c["sha256"] in expiring,
            "expired": not_after(c) <= now,
        }
        for c in idp.certificates
    ]


def _settings_context(request: HttpRequest, org: Org, **extra: Any) -> dict[str, Any]:
    idp = selectors.idp_get(org=org)
    directory = selectors.scim_directory_get(org=org)
    tokens = list(directory.tokens.select_related("created_by")) if directory else []
    active = [t for t in tokens if t.revoked_at is None]
    access_groups = [g.display_name for g in selectors.access_group_list(org=org)]
    membership = org.admins.get(user=_user(request))
    try:
        selectors.scim_check_prerequisites(org=org)
        blocked = ""
    except DirectoryError as e:
        blocked = e.message
    context = {
        "org": org,
        "idp": idp,
        "idp_form": IdentityProviderForm(
            initial={
                "provider": idp.provider,
                "protocol": idp.protocol,
                "idp_initiated": idp.idp_initiated,
                "issuer": idp.issuer,
                "client_id": idp.client_id,
                "scopes": idp.scopes,
                "username_claim": idp.username_claim,
            }
            if idp
            else None
        ),
        "sp": sp_values(org=org),
        "certificates": _certificates(idp),
        "jit_form": JitForm(initial={"jit": idp.jit}) if idp else None,
        "directory": directory,
        "scim_blocked": blocked,
        "tokens": active,
        "revoked_tokens": [t for t in tokens if t.revoked_at is not None][-5:],
        "token_limit": MAX_ACTIVE_TOKENS,
        "at_token_limit": len(active) >= MAX_ACTIVE_TOKENS,
        "token_form": TokenForm(),
        "deprovision_form": DeprovisionForm(
            initial={"deprovision": org.deprovision, "grace_days": org.deprovision_grace_days}
        ),
        "summary_form": SummaryForm(initial={"summary_emails": membership.summary_emails}),
        "access_form": AccessPolicyForm(
            group_names=[g.display_name for g in selectors.group_choices(org=org)],
            initial={"access_groups": access_groups},
        ),
        "name_rule_form": NameRuleForm(
            initial={"reject_special_characters": directory.reject_special_characters}
            if directory
            else None
        ),
        "delete_form": ConfirmSlugForm(slug=org.slug),
        "access_groups": access_groups,
        "outside_access_groups": selectors.user_list(org=org, seat="access").count(),
        "section": "settings",
    }
    context.update(extra)
    return context


@login_required
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    return render(request, "console/settings.html", _settings_context(request, org))


@login_required
@require_POST
def settings_idp(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = IdentityProviderForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            idp = services.idp_configure(org=org, actor=_actor(request), **form.idp_settings())
        except DirectoryError as e:
            form.add_error(form.field_for(e.field), e.message)
        else:
            if idp.signin_ready:
                messages.success(request, "Identity provider saved: end users can sign in.")
            else:
                messages.success(
                    request, "Identity provider saved. Sign-in is not set up yet: see below."
                )
            return redirect("settings", slug=org.slug)
    messages.error(request, "The identity provider was not saved: check the fields below.")
    return render(request, "console/settings.html", _settings_context(request, org, idp_form=form))


@login_required
@require_POST
def settings_idp_jit(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = JitForm(request.POST)
    form.is_valid()
    enabled = bool(form.cleaned_data.get("jit"))
    try:
        services.idp_jit_set(org=org, enabled=enabled, actor=_actor(request))
    except DirectoryError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            "Just-in-time users are on: an unknown user who signs in is created."
            if enabled
            else "Just-in-time users are off: only users in the directory can sign in.",
        )
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_scim(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        if request.POST.get("enabled") == "on":
            services.scim_enable(org=org, actor=_actor(request))
            messages.success(request, "SCIM provisioning is on. Copy the Base URL and a token.")
        else:
            services.scim_disable(org=org, actor=_actor(request))
            messages.success(request, "SCIM provisioning is off: the IdP's requests are refused.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_token_issue(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    directory = selectors.scim_directory_get(org=org)
    form = TokenForm(request.POST)
    if directory is None:
        messages.error(request, "Enable SCIM provisioning before generating a token.")
        return redirect("settings", slug=org.slug)
    if not form.is_valid():
        messages.error(request, "A token name has at most 100 characters.")
        return redirect("settings", slug=org.slug)
    try:
        issued = token_issue(
            directory=directory,
            name=form.cleaned_data["name"],
            created_by=_user(request),
            actor=_actor(request),
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("settings", slug=org.slug)
    messages.success(request, f"Token {issued.token.prefix}… generated. Copy it now.")
    # Rendered in this response only: the plaintext is never stored, not even in the
    # session, and cannot be shown again.
    response = render(
        request,
        "console/settings.html",
        _settings_context(request, org, new_token=issued.plaintext, new_token_obj=issued.token),
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def settings_token_revoke(request: HttpRequest, slug: str, token_id: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    directory = selectors.scim_directory_get(org=org)
    if directory is None:
        raise Http404("No SCIM directory")
    try:
        token = token_revoke(directory=directory, token_id=token_id, actor=_actor(request))
    except DirectoryError as e:
        raise Http404(e.message) from None
    messages.success(request, f"Token {token.prefix}… is revoked: it authenticates nothing now.")
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_deprovision(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = DeprovisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a policy, and a grace period of 1 to 3650 days.")
        return redirect("settings", slug=org.slug)
    try:
        org = services.org_deprovision_set(
            org=org,
            deprovision=form.cleaned_data["deprovision"],
            grace_days=form.cleaned_data.get("grace_days"),
            actor=_actor(request),
        )
        messages.success(request, f"Deprovisioning set to {org.get_deprovision_display()}.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_summaries(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = SummaryForm(request.POST)
    form.is_valid()
    wanted = bool(form.cleaned_data.get("summary_emails"))
    services.org_admin_summaries_set(org=org, user=_user(request), enabled=wanted)
    messages.success(
        request, "You will get hourly summaries." if wanted else "No more hourly summaries for you."
    )
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_scim_delete(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = ConfirmSlugForm(request.POST, slug=org.slug)
    if not form.is_valid():
        messages.error(request, "The SCIM directory was not deleted.")
        return render(
            request, "console/settings.html", _settings_context(request, org, delete_form=form)
        )
    try:
        services.scim_directory_delete(org=org, actor=_actor(request))
        messages.success(
            request,
            "The SCIM directory is deleted: syncing stopped and its tokens are revoked. "
            "Its users and groups stay, as manual entries; the deprovisioning policy and "
            "the access groups stay too.",
        )
    except DirectoryError as e:
        messages.error(request, e.message)
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_access(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = AccessPolicyForm(
        request.POST, group_names=[g.display_name for g in selectors.group_choices(org=org)]
    )
    if not form.is_valid():
        messages.error(request, "Choose groups from the list.")
        return redirect("settings", slug=org.slug)
    try:
        groups = services.org_access_groups_set(
            org=org, names=form.cleaned_data["access_groups"], actor=_actor(request)
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("settings", slug=org.slug)
    messages.success(
        request,
        "Access is limited to members of " + ", ".join(g.display_name for g in groups) + "."
        if groups
        else "Every user gets access (no access groups).",
    )
    return redirect("settings", slug=org.slug)


@login_required
@require_POST
def settings_name_rule(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = NameRuleForm(request.POST)
    form.is_valid()
    wanted = bool(form.cleaned_data.get("reject_special_characters"))
    try:
        services.scim_name_rule_set(org=org, enabled=wanted, actor=_actor(request))
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("settings", slug=org.slug)
    messages.success(
        request,
        "Names with @ , # $ ! from the IdP are refused."
        if wanted
        else "Names from the IdP may contain any character.",
    )
    return redirect("settings", slug=org.slug)


# API keys (per admin, for /api/v1/) ---------------------------------------------------


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/api_keys.html",
        {"keys": _user(request).api_keys.order_by("-created_at"), "form": ApiKeyForm()},
    )


@login_required
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return redirect("api-keys")
    issued = api_key_issue(
        user=_user(request),
        name=form.cleaned_data["name"],
        read_only=form.cleaned_data["read_only"],
    )
    response = render(
        request,
        "console/api_keys.html",
        {
            "keys": _user(request).api_keys.order_by("-created_at"),
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
        key = api_key_revoke(user=_user(request), key_id=key_id)
    except DirectoryError as e:
        raise Http404(e.message) from None
    messages.success(request, f"API key {key.prefix}… is revoked.")
    return redirect("api-keys")
