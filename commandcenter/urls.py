from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from commandcenter import (
    account,
    ldap_settings,
    metrics,
    org_settings,
    provisioning_log,
    views,
    webhooks_console,
)

org_patterns = [
    path("", views.overview, name="overview"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_new, name="user-new"),
    path("users/export.csv", views.users_export, name="users-export"),
    path("users/bulk/", views.users_bulk, name="users-bulk"),
    path("users/<str:user_id>/", views.user_detail, name="user-detail"),
    path("users/<str:user_id>/delete/", views.user_delete, name="user-delete"),
    path("users/<str:user_id>/seat/", views.user_seat, name="user-seat"),
    path("groups/", views.groups, name="groups"),
    path("groups/new/", views.group_new, name="group-new"),
    path("groups/export.csv", views.groups_export, name="groups-export"),
    path("groups/<str:group_id>/", views.group_detail, name="group-detail"),
    path("events/", views.events, name="events"),
    path("settings/audit/", views.audit, name="audit"),
    path("settings/", org_settings.settings_page, name="settings"),
    path("settings/webhooks/", webhooks_console.webhooks, name="webhooks"),
    path(
        "settings/webhooks/retention/",
        webhooks_console.webhooks_retention,
        name="webhooks-retention",
    ),
    path("settings/webhooks/<str:endpoint_id>/", webhooks_console.webhook, name="webhook"),
    path(
        "settings/webhooks/<str:endpoint_id>/<slug:action>/",
        webhooks_console.webhook_action,
        name="webhook-action",
    ),
    path("settings/admin/", account.org_admin_signin, name="settings-admin"),
    path("settings/idp/", org_settings.settings_idp, name="settings-idp"),
    path("settings/idp/jit/", org_settings.settings_idp_jit, name="settings-idp-jit"),
    path("settings/scim/", org_settings.settings_scim, name="settings-scim"),
    path("settings/directory-sync/", ldap_settings.ldap_page, name="settings-ldap"),
    path("settings/directory-sync/test/", ldap_settings.ldap_test_view, name="settings-ldap-test"),
    path("settings/directory-sync/sync/", ldap_settings.ldap_sync_view, name="settings-ldap-sync"),
    path(
        "settings/directory-sync/remove/",
        ldap_settings.ldap_remove_view,
        name="settings-ldap-remove",
    ),
    path("settings/scim/requests/", provisioning_log.scim_requests, name="scim-requests"),
    path(
        "settings/scim/requests/<str:request_id>/",
        provisioning_log.scim_request,
        name="scim-request",
    ),
    path("settings/scim/delete/", org_settings.settings_scim_delete, name="settings-scim-delete"),
    path("settings/tokens/", org_settings.settings_token_issue, name="settings-token-issue"),
    path(
        "settings/tokens/<str:token_id>/revoke/",
        org_settings.settings_token_revoke,
        name="settings-token-revoke",
    ),
    path(
        "settings/request-log/",
        org_settings.settings_request_log,
        name="settings-request-log",
    ),
    path(
        "settings/deprovisioning/", org_settings.settings_deprovision, name="settings-deprovision"
    ),
    path("settings/summaries/", org_settings.settings_summaries, name="settings-summaries"),
    path("settings/access/", org_settings.settings_access, name="settings-access"),
    path("settings/scim/name-rule/", org_settings.settings_name_rule, name="settings-name-rule"),
]

urlpatterns = [
    # Operators' Prometheus scrape, behind METRICS_TOKEN (404 while it is unset).
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/activity/", views.operator_activity, name="operator-activity"),
    path("admin/", admin.site.urls),
    path("scim/v2/", include("scim.urls")),
    path("api/v1/", include("commandcenter.api.urls")),
    path("", include("signin.urls")),
    path("accounts/login/", account.ConsoleLoginView.as_view(), name="login"),
    path("account/mfa/", account.mfa_verify, name="mfa-verify"),
    path("account/mfa/setup/", account.mfa_setup, name="mfa-setup"),
    path("account/mfa/reset/", account.mfa_reset, name="mfa-reset"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password-changed")),
        name="password-change",
    ),
    path("account/password/changed/", views.password_changed, name="password-changed"),
    path("account/api-keys/", views.api_keys, name="api-keys"),
    path("account/api-keys/new/", views.api_key_new, name="api-key-new"),
    path(
        "account/api-keys/<str:key_id>/revoke/",
        views.api_key_revoke_view,
        name="api-key-revoke",
    ),
    path("o/<slug:slug>/", include(org_patterns)),
    path("", views.home, name="home"),
]

# SCIM Error JSON under /scim/, Django's own pages elsewhere.
handler400 = "scim.error_pages.error_400"
handler404 = "scim.error_pages.error_404"
handler500 = "scim.error_pages.error_500"
