from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from commandcenter.api import ldap, views, webhooks

org = "orgs/<slug:slug>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("orgs/", views.OrgList.as_view(), name="api-orgs"),
    path(org, views.OrgDetail.as_view(), name="api-org"),
    path(org + "idp/", views.IdpDetail.as_view(), name="api-idp"),
    path(org + "scim/", views.DirectoryDetail.as_view(), name="api-scim"),
    path(org + "scim/enable/", views.DirectoryEnable.as_view(), name="api-scim-enable"),
    path(org + "scim/disable/", views.DirectoryDisable.as_view(), name="api-scim-disable"),
    path(org + "scim/tokens/", views.TokenList.as_view(), name="api-tokens"),
    path(
        org + "scim/tokens/<str:token_id>/revoke/",
        views.TokenRevoke.as_view(),
        name="api-token-revoke",
    ),
    path(org + "scim/requests/", views.ScimRequestList.as_view(), name="api-scim-requests"),
    path(
        org + "scim/requests/<str:request_id>/",
        views.ScimRequestDetail.as_view(),
        name="api-scim-request",
    ),
    path(org + "ldap/", ldap.LdapDetail.as_view(), name="api-ldap"),
    path(org + "ldap/test/", ldap.LdapTest.as_view(), name="api-ldap-test"),
    path(org + "ldap/sync/", ldap.LdapSync.as_view(), name="api-ldap-sync"),
    path(org + "ldap/runs/", ldap.LdapRunList.as_view(), name="api-ldap-runs"),
    path(org + "users/", views.UserList.as_view(), name="api-users"),
    path(org + "users/<str:user_id>/", views.UserDetail.as_view(), name="api-user"),
    path(org + "users/<str:user_id>/seat/", views.UserSeat.as_view(), name="api-user-seat"),
    path(org + "users/<str:user_id>/access/", views.UserAccess.as_view(), name="api-user-access"),
    path(org + "groups/", views.GroupList.as_view(), name="api-groups"),
    path(org + "groups/<str:group_id>/", views.GroupDetail.as_view(), name="api-group"),
    path(org + "events/", views.EventList.as_view(), name="api-events"),
    path(org + "me/summaries/", views.SummaryPreference.as_view(), name="api-summaries"),
    path(org + "changes/", webhooks.ChangeFeed.as_view(), name="api-changes"),
    path(org + "webhooks/", webhooks.EndpointList.as_view(), name="api-webhooks"),
    path(
        org + "webhooks/<str:endpoint_id>/", webhooks.EndpointDetail.as_view(), name="api-webhook"
    ),
    path(
        org + "webhooks/<str:endpoint_id>/rotate-secret/",
        webhooks.EndpointRotate.as_view(),
        name="api-webhook-rotate",
    ),
    path(
        org + "webhooks/<str:endpoint_id>/retry/",
        webhooks.EndpointRetry.as_view(),
        name="api-webhook-retry",
    ),
    path(
        org + "webhooks/<str:endpoint_id>/replay/",
        webhooks.EndpointReplay.as_view(),
        name="api-webhook-replay",
    ),
    path(
        org + "webhooks/<str:endpoint_id>/test/",
        webhooks.EndpointTest.as_view(),
        name="api-webhook-test",
    ),
    path(
        org + "webhooks/<str:endpoint_id>/deliveries/",
        webhooks.DeliveryList.as_view(),
        name="api-webhook-deliveries",
    ),
]
