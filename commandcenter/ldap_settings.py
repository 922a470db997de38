"""The console's Settings > Identity and Access > End User > Directory sync: the org's
LDAP / Active Directory source (configure, Test connection, Sync now, the last runs,
remove). Views parse, call one directory service and render, as in org_settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from commandcenter.views import actor_of, get_org_for_admin
from directory import selectors
from directory.errors import DirectoryError
from directory.ldap_client import LdapError
from directory.models import LdapDirectory, LdapSyncRun, Org
from directory.services.ldap_directory import (
    LdapTestResult,
    ldap_configure,
    ldap_directory_get,
    ldap_filters,
    ldap_remove,
    ldap_test,
)
from directory.services.ldap_mapping import DEFAULT_FILTERS, PRESETS
from directory.services.ldap_sync import ldap_runs
from directory.tasks import ldap_sync_start


class LdapForm(forms.Form):
    url = forms.CharField(
        label="Server URL",
        max_length=500,
        help_text="ldaps://ldap.example.com (TLS) or ldap://ldap.example.com (with StartTLS)",
    )
    security = forms.ChoiceField(
        label="Connection security",
        choices=[("", "From the URL: ldaps:// is TLS, ldap:// uses StartTLS")]
        + list(LdapDirectory.Security.choices),
        required=False,
    )
    ca_certificate = forms.CharField(
        label="CA certificate (PEM, optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Empty: the system's trusted authorities.",
    )
    bind_dn = forms.CharField(label="Bind DN", max_length=500)
    bind_password = forms.CharField(
        label="Bind password",
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown again. Leave empty to keep the saved one.",
    )
    preset = forms.ChoiceField(choices=LdapDirectory.Preset.choices)
    user_base = forms.CharField(label="User base DN", max_length=500)
    user_filter = forms.CharField(
        label="User filter",
        max_length=1000,
        required=False,
        help_text="Empty: the preset's: OpenLDAP "
        f"{DEFAULT_FILTERS['openldap'][0]}, Active Directory {DEFAULT_FILTERS['ad'][0]}",
    )
    group_base = forms.CharField(
        label="Group base DN", max_length=500, required=False, help_text="Empty: no groups"
    )
    group_filter = forms.CharField(
        label="Group filter",
        max_length=1000,
        required=False,
        help_text="Empty: the preset's: OpenLDAP "
        f"{DEFAULT_FILTERS['openldap'][1]}, Active Directory {DEFAULT_FILTERS['ad'][1]}",
    )
    user_name_attribute = forms.CharField(
        label="userName from",
        max_length=100,
        required=False,
        help_text="Empty: userPrincipalName (Active Directory) or mail (OpenLDAP). "
        "SCIM takeover and sign-in match on it.",
    )
    enabled = forms.BooleanField(label="Sync every hour", required=False)

    def settings(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        user_name = data.pop("user_name_attribute").strip()
        data["attributes"] = {"user_name": user_name} if user_name else {}
        data["bind_password"] = data["bind_password"] or None
        return data


def _initial(ldap: LdapDirectory | None) -> dict[str, Any] | None:
    if ldap is None:
        return {"preset": LdapDirectory.Preset.OPENLDAP, "enabled": True}
    fields = ["url", "security", "ca_certificate", "bind_dn", "preset", "user_base"]
    fields += ["user_filter", "group_base", "group_filter", "enabled"]
    initial = {name: getattr(ldap, name) for name in fields}
    initial["user_name_attribute"] = ldap.attributes.get("user_name", "")
    return initial


def _render(
    request: HttpRequest,
    org: Org,
    *,
    form: LdapForm | None = None,
    test: LdapTestResult | None = None,
    test_error: str = "",
) -> HttpResponse:
    ldap = selectors.ldap_directory_find(org=org)
    filters = ldap_filters(ldap) if ldap else None
    context = {
        "org": org,
        "ldap": ldap,
        "filters": filters,
        "form": form or LdapForm(initial=_initial(ldap)),
        "runs": ldap_runs(org=org, limit=10),
        "test": test,
        "test_error": test_error,
        "presets": PRESETS,
        "section": "settings",
    }
    return render(request, "console/ldap_settings.html", context)


@login_required
def ldap_page(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    if request.method == "POST":
        form = LdapForm(request.POST)
        if form.is_valid():
            try:
                ldap_configure(org=org, actor=actor_of(request), **form.settings())
            except DirectoryError as e:
                field = e.field if e.field in form.fields else None
                form.add_error(field, e.message)
            else:
                messages.success(request, "Directory sync saved. Test the connection next.")
                return redirect("settings-ldap", slug=org.slug)
        messages.error(request, "The directory sync was not saved: check the fields below.")
        return _render(request, org, form=form)
    return _render(request, org)


@login_required
@require_POST
def ldap_test_view(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    ldap = ldap_directory_get(org=org)
    try:
        result = ldap_test(ldap=ldap)
    except LdapError as e:
        return _render(request, org, test_error=str(e))
    return _render(request, org, test=result)


@login_required
@require_POST
def ldap_sync_view(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        run = ldap_sync_start(org=org, trigger="console")
    except DirectoryError as e:
        messages.error(request, e.message)
        return redirect("settings-ldap", slug=org.slug)
    if run is None or run.status == LdapSyncRun.Status.RUNNING:
        messages.success(request, "Sync started: its totals appear below when it ends.")
        return redirect("settings-ldap", slug=org.slug)
    t = run.totals
    if run.status == LdapSyncRun.Status.SUCCESS:
        messages.success(
            request,
            f"Synced: {t['created']} created, {t['updated']} updated, {t['disabled']} "
            f"disabled, {t['deleted']} deleted, {t['failed']} failed.",
        )
    else:
        messages.error(request, f"The sync failed: {run.error}")
    return redirect("settings-ldap", slug=org.slug)


@login_required
@require_POST
def ldap_remove_view(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    try:
        kept = ldap_remove(org=org, actor=actor_of(request))
    except DirectoryError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request, f"Directory sync removed: its {kept} user(s) stay, as manual users."
        )
    return redirect("settings-ldap", slug=org.slug)
