from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.http import HttpRequest

from directory import services
from directory.audit import Actor
from directory.models import (
    AuditEvent,
    EndUser,
    Group,
    IdentityProvider,
    LdapDirectory,
    LdapSyncRun,
    Membership,
    Org,
    OrgAdmin,
    ProvisioningEvent,
    ScimDirectory,
    ScimRequest,
    SummaryLog,
)


class OrgAdminInline(admin.TabularInline[OrgAdmin, Org]):
    model = OrgAdmin
    extra = 0
    raw_id_fields = ["user"]


class OrgForm(forms.ModelForm[Org]):
    """The org's row, plus its deprovisioning policy and access groups, which the
    services write (OrgModelAdmin.save_related), never this form."""

    deprovision = forms.ChoiceField(
        label="Deprovisioning", choices=Org.Deprovision.choices, initial=Org.Deprovision.DISABLE
    )
    access_groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("access groups", is_stacked=False),
        help_text="Only members of these groups get access; none: every user does.",
    )

    class Meta:
        model = Org
        fields = ["slug", "name", "seats", "scim_rate_limit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = self.instance
        self.initial["deprovision"] = org.deprovision
        if org.pk is None:
            del self.fields["access_groups"]  # a new org has no groups to choose from
            return
        groups = self.fields["access_groups"]
        groups.queryset = org.groups.order_by("display_name")  # type: ignore[attr-defined]
        self.initial["access_groups"] = list(org.access_groups.all())


@admin.register(Org)
class OrgModelAdmin(admin.ModelAdmin[Org]):
    form = OrgForm
    # Not written from the form: OrgForm's fields of the same names go to the services.
    exclude = ["deprovision", "access_groups"]
    list_display = ["slug", "name", "seats", "deprovision", "created_at"]
    list_filter = ["deprovision"]
    search_fields = ["slug", "name"]
    inlines = [OrgAdminInline]
    # A counter the seat services keep equal to the users holding a seat.
    readonly_fields = ["seats_used"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Through the services, as the console does it: audited, and every user's
        # NOT_IN_ACCESS_GROUPS mark follows the access groups at once.
        org, data = form.instance, form.cleaned_data
        actor = Actor(
            who=request.user.get_username(),
            via=AuditEvent.Via.ADMIN,
            ip=request.META.get("REMOTE_ADDR"),
        )
        if "deprovision" in form.changed_data:
            services.org_deprovision_set(org=org, deprovision=data["deprovision"], actor=actor)
        if "access_groups" in form.changed_data:
            services.org_access_groups_set(
                org=org, names=[g.display_name for g in data["access_groups"]], actor=actor
            )


@admin.register(OrgAdmin)
class OrgAdminModelAdmin(admin.ModelAdmin[OrgAdmin]):
    list_display = ["user", "org", "summary_emails", "created_at"]
    list_select_related = ["user", "org"]
    search_fields = ["user__username", "org__slug"]
    raw_id_fields = ["user", "org"]


@admin.register(IdentityProvider)
class IdentityProviderModelAdmin(admin.ModelAdmin[IdentityProvider]):
    """Shown, not edited: the IdP is configured by directory.services.idp_configure (the
    console, the API, `manage.py idp`), which reads the metadata and audits the change;
    the client secret is never shown (nor its ciphertext)."""

    list_display = ["org", "provider", "protocol", "signin_ready", "saved_at"]
    list_filter = ["provider", "protocol"]
    search_fields = ["org__slug"]
    readonly_fields = (
        "org", "provider", "protocol", "signin_ready", "entity_id", "sso_url", "metadata_url",
        "certificates", "idp_initiated", "issuer", "client_id", "scopes", "username_claim",
        "jit", "saved_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields

    @admin.display(boolean=True, description="Sign-in ready")
    def signin_ready(self, obj: IdentityProvider) -> bool:
        return obj.signin_ready

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LdapDirectory)
class LdapDirectoryModelAdmin(admin.ModelAdmin[LdapDirectory]):
    """Shown, not edited: configured by directory.services.ldap_directory (the console,
    the API, `manage.py ldap`), which validates and audits; the bind password is never
    shown (nor its ciphertext)."""

    list_display = ["org", "url", "preset", "enabled", "updated_at"]
    list_filter = ["preset", "enabled"]
    search_fields = ["org__slug", "url"]
    readonly_fields = (
        "org", "url", "security", "bind_dn", "user_base", "user_filter", "group_base",
        "group_filter", "preset", "attributes", "page_size", "enabled", "running_since",
        "created_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LdapSyncRun)
class LdapSyncRunModelAdmin(admin.ModelAdmin[LdapSyncRun]):
    list_display = ["org", "started_at", "trigger", "status", "finished_at"]
    list_filter = ["status", "trigger"]
    search_fields = ["org__slug"]
    readonly_fields = ("org", "started_at", "finished_at", "trigger", "status", "totals", "error")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ScimDirectory)
class ScimDirectoryModelAdmin(admin.ModelAdmin[ScimDirectory]):
    list_display = ["id", "org", "enabled", "created_at", "deleted_at"]
    list_filter = ["enabled"]
    search_fields = ["org__slug", "id"]
    readonly_fields = ["id", "created_at"]


@admin.register(EndUser)
class EndUserModelAdmin(admin.ModelAdmin[EndUser]):
    list_display = [
        "user_name",
        "org",
        "source",
        "active",
        "has_seat",
        "access",
        "updated_at",
    ]
    list_filter = ["source", "active", "has_seat"]
    list_select_related = ["org"]
    search_fields = ["user_name", "external_id", "display_name"]
    raw_id_fields = ["org", "directory", "manager"]
    # Names are unique per org by their case key; renames go through the services (SCIM,
    # the console, the API), which check that and record the change.
    # has_seat moves with the org's seat counter: seats are given and freed by the
    # services (console, API, CLI), never by editing the row.
    readonly_fields = ["id", "user_name", "has_seat", "created_at", "updated_at", "version"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users come from the IdP or the console, with seats and events


class MembershipInline(admin.TabularInline[Membership, Group]):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Group)
class GroupModelAdmin(admin.ModelAdmin[Group]):
    list_display = ["display_name", "org", "source", "updated_at"]
    list_filter = ["source"]
    list_select_related = ["org"]
    search_fields = ["display_name", "external_id"]
    raw_id_fields = ["org", "directory"]
    # Unique per org by its case key: renames go through the services (see EndUser's).
    readonly_fields = ["id", "display_name", "created_at", "updated_at", "version"]
    inlines = [MembershipInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # groups come from the IdP or the console, with their events


@admin.register(ProvisioningEvent)
class ProvisioningEventModelAdmin(admin.ModelAdmin[ProvisioningEvent]):
    list_display = [
        "created_at",
        "org",
        "action",
        "outcome",
        "resource_name",
        "status_code",
    ]
    list_filter = ["outcome", "action"]
    list_select_related = ["org"]
    search_fields = ["resource_name", "message", "org__slug"]
    raw_id_fields = ["org", "directory"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    # A record of what happened: shown, never written here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SummaryLog)
class SummaryLogModelAdmin(admin.ModelAdmin[SummaryLog]):
    list_display = ["org", "hour", "claimed_at", "sent_at", "attempts", "recipients"]
    list_select_related = ["org"]
    raw_id_fields = ["org"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the summary sender when it claims an hour


@admin.register(ScimRequest)
class ScimRequestModelAdmin(admin.ModelAdmin[ScimRequest]):
    """The provisioning log of every org, and the requests to URLs that name no
    directory (no org), which only operators see."""

    list_display = ["created_at", "org", "method", "path", "status", "client_address", "count"]
    list_filter = ["status", "method", "idp", "aggregated"]
    list_select_related = ["org"]
    search_fields = ["path", "detail", "client_address", "org__slug"]
    raw_id_fields = ["org", "directory"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    # A record of what happened: shown, never written here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
