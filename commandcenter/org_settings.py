"""The console's Settings > Identity and Access > End User: the org's IdP, SCIM and its
tokens, deprovisioning, access groups, the name rule and summary emails.

Views parse, call one service, and render (or redirect back to the settings page with a
message); every page goes through get_org_for_admin, which answers 404 to anyone who does
not administer the org."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from commandcenter.forms import (
    AccessPolicyForm,
    ConfirmSlugForm,
    DeprovisionForm,
    IdentityProviderForm,
    JitForm,
    NameRuleForm,
    RequestLogForm,
    SummaryForm,
    TokenForm,
)
from commandcenter.views import actor_of, get_org_for_admin, user_of
from directory import request_log, selectors, services
from directory.errors import DirectoryError
from directory.models import IdentityProvider, Org
from directory.saml_metadata import certificates_expiring, not_after
from directory.services.idp import sp_values
from directory.services.orgs import MAX_GRACE_DAYS, MAX_REQUEST_LOG_DAYS
from tokens.services import (
    MAX_ACTIVE_TOKENS,
    token_issue,
    token_revoke,
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
    membership = org.admins.get(user=user_of(request))
    ldap = selectors.ldap_directory_find(org=org)
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
        "health": request_log.scim_health(org=org) if directory else None,
        "tokens": active,
        "revoked_tokens": [t for t in tokens if t.revoked_at is not None][-5:],
        "token_limit": MAX_ACTIVE_TOKENS,
        "at_token_limit": len(active) >= MAX_ACTIVE_TOKENS,
        "token_form": TokenForm(),
        "deprovision_form": DeprovisionForm(
            initial={"deprovision": org.deprovision, "grace_days": org.deprovision_grace_days}
        ),
        "request_log_form": RequestLogForm(
            initial={
                "retention_days": org.request_log_retention_days,
                "masks_personal_data": org.request_log_masks_personal_data,
            }
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
        "ldap": ldap,
        "ldap_last_run": selectors.ldap_last_run(org=org) if ldap else None,
        "section": "settings",
    }
    context.update(extra)
    return context


def _back(org: Org, panel: str) -> HttpResponseRedirect:
    """Back to the settings page, at the panel the admin was editing."""
    return HttpResponseRedirect(f"{reverse('settings', args=[org.slug])}#{panel}")


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
            idp = services.idp_configure(org=org, actor=actor_of(request), **form.idp_settings())
        except DirectoryError as e:
            form.add_error(form.field_for(e.field), e.message)
        else:
            if idp.signin_ready:
                messages.success(request, "Identity provider saved: end users can sign in.")
            else:
                messages.success(
                    request, "Identity provider saved. Sign-in is not set up yet: see below."
                )
            return _back(org, "idp")
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
        services.idp_jit_set(org=org, enabled=enabled, actor=actor_of(request))
    except DirectoryError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            "Just-in-time users are on: an unknown user who signs in is created."
            if enabled
            else "Just-in-time users are off: only users in the directory can sign in.",
        )
    return _back(org, "idp")


@login_required
@require_POST
def settings_scim(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        if request.POST.get("enabled") == "on":
            services.scim_enable(org=org, actor=actor_of(request))
            messages.success(request, "SCIM provisioning is on. Copy the Base URL and a token.")
        else:
            services.scim_disable(org=org, actor=actor_of(request))
            messages.success(request, "SCIM provisioning is off: the IdP's requests are refused.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return _back(org, "scim-title")


@login_required
@require_POST
def settings_token_issue(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    directory = selectors.scim_directory_get(org=org)
    form = TokenForm(request.POST)
    if directory is None:
        messages.error(request, "Enable SCIM provisioning before generating a token.")
        return _back(org, "tokens")
    if not form.is_valid():
        messages.error(request, "A token name has at most 100 characters.")
        return _back(org, "tokens")
    try:
        issued = token_issue(
            directory=directory,
            name=form.cleaned_data["name"],
            created_by=user_of(request),
            actor=actor_of(request),
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return _back(org, "tokens")
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
        token = token_revoke(directory=directory, token_id=token_id, actor=actor_of(request))
    except DirectoryError as e:
        raise Http404(e.message) from None
    messages.success(request, f"Token {token.prefix}… is revoked: it authenticates nothing now.")
    return _back(org, "tokens")


@login_required
@require_POST
def settings_deprovision(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = DeprovisionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, f"Choose a policy, and a grace period of 1 to {MAX_GRACE_DAYS} days."
        )
        return _back(org, "deprovision-title")
    chosen, grace_days = form.cleaned_data["deprovision"], form.cleaned_data.get("grace_days")
    if not form.cleaned_data["confirmed"] and _deletes_more(org, chosen, grace_days):
        # Nothing saved yet: the page asks first, in a dialog that posts again, confirmed.
        days = grace_days or org.deprovision_grace_days
        confirm = {
            "deprovision": chosen,
            "grace_days": days,
            "label": dict(form.fields["deprovision"].choices)[chosen],  # type: ignore[attr-defined]
            "due": selectors.users_disabled_longer_than_count(org=org, days=days)
            if chosen == Org.Deprovision.DISABLE_THEN_DELETE
            else 0,
        }
        return render(
            request,
            "console/settings.html",
            _settings_context(request, org, confirm_deprovision=confirm),
        )
    try:
        org = services.org_deprovision_set(
            org=org, deprovision=chosen, grace_days=grace_days, actor=actor_of(request)
        )
        messages.success(request, f"Deprovisioning set to {org.get_deprovision_display()}.")
    except DirectoryError as e:
        messages.error(request, e.message)
    return _back(org, "deprovision-title")


def _deletes_more(org: Org, chosen: str, grace_days: int | None) -> bool:
    """Whether the policy chosen deletes users that the org's current one keeps: a change
    to delete, or to disable-then-delete from disable, or a shorter grace period."""
    if chosen == Org.Deprovision.DISABLE or chosen == org.deprovision == Org.Deprovision.DELETE:
        return False
    if chosen == Org.Deprovision.DELETE:
        return True
    if org.deprovision != Org.Deprovision.DISABLE_THEN_DELETE:
        return org.deprovision == Org.Deprovision.DISABLE
    return grace_days is not None and grace_days < org.deprovision_grace_days


@login_required
@require_POST
def settings_request_log(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = RequestLogForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Keep requests for 1 to {MAX_REQUEST_LOG_DAYS} days.")
        return _back(org, "request-log-settings")
    org = services.org_request_log_set(
        org=org,
        retention_days=form.cleaned_data["retention_days"],
        masks_personal_data=form.cleaned_data["masks_personal_data"],
        actor=actor_of(request),
    )
    masked = " with personal data masked" if org.request_log_masks_personal_data else ""
    messages.success(
        request,
        f"The provisioning log keeps requests {org.request_log_retention_days} days{masked}.",
    )
    return _back(org, "request-log-settings")


@login_required
@require_POST
def settings_summaries(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = SummaryForm(request.POST)
    form.is_valid()
    wanted = bool(form.cleaned_data.get("summary_emails"))
    services.org_admin_summaries_set(org=org, user=user_of(request), enabled=wanted)
    messages.success(
        request, "You will get hourly summaries." if wanted else "No more hourly summaries for you."
    )
    return _back(org, "summary-title")


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
        services.scim_directory_delete(org=org, actor=actor_of(request))
        messages.success(
            request,
            "The SCIM directory is deleted: syncing stopped and its tokens are revoked. "
            "Its users and groups stay, as manual entries; the deprovisioning policy and "
            "the access groups stay too.",
        )
    except DirectoryError as e:
        messages.error(request, e.message)
    return _back(org, "scim-title")


@login_required
@require_POST
def settings_access(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = AccessPolicyForm(
        request.POST, group_names=[g.display_name for g in selectors.group_choices(org=org)]
    )
    if not form.is_valid():
        messages.error(request, "Choose groups from the list.")
        return _back(org, "access-title")
    try:
        groups = services.org_access_groups_set(
            org=org, names=form.cleaned_data["access_groups"], actor=actor_of(request)
        )
    except DirectoryError as e:
        messages.error(request, e.message)
        return _back(org, "access-title")
    messages.success(
        request,
        "Access is limited to members of " + ", ".join(g.display_name for g in groups) + "."
        if groups
        else "Every user gets access (no access groups).",
    )
    return _back(org, "access-title")


@login_required
@require_POST
def settings_name_rule(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    form = NameRuleForm(request.POST)
    form.is_valid()
    wanted = bool(form.cleaned_data.get("reject_special_characters"))
    try:
        services.scim_name_rule_set(org=org, enabled=wanted, actor=actor_of(request))
    except DirectoryError as e:
        messages.error(request, e.message)
        return _back(org, "name-rule")
    messages.success(
        request,
        "Names with @ , # $ ! from the IdP are refused."
        if wanted
        else "Names from the IdP may contain any character.",
    )
    return _back(org, "name-rule")
