"""SCIM routes: the Base URL of a directory is SITE_URL/scim/v2/<directory id>.

Route names are django-scim2's, in its `scim` namespace. Trailing slashes are
optional everywhere, so no client is ever redirected."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from scim import views

app_name = "scim"

directory_patterns: list[URLPattern] = [
    re_path(r"^Users/\.search/?$", views.UserSearchView.as_view(), name="users-search"),
    re_path(r"^Users/?$", views.UsersView.as_view(), name="users"),
    re_path(r"^Users/(?P<uuid>[^/]+)/?$", views.UserView.as_view(), name="user"),
    re_path(r"^Groups/\.search/?$", views.GroupSearchView.as_view(), name="groups-search"),
    re_path(r"^Groups/?$", views.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/(?P<uuid>[^/]+)/?$", views.GroupView.as_view(), name="group"),
    re_path(
        r"^ServiceProviderConfigs?/?$",
        views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(
        r"^ResourceTypes(?:/(?P<uuid>[^/]+))?/?$",
        views.ResourceTypesView.as_view(),
        name="resource-types",
    ),
    re_path(r"^Schemas(?:/(?P<uuid>[^/]+))?/?$", views.SchemasView.as_view(), name="schemas"),
    re_path(r"^Bulk/?$", views.NotImplementedView.as_view(feature="Bulk"), name="bulk"),
    re_path(r"^Me(?:/.*)?$", views.NotImplementedView.as_view(feature="/Me"), name="me"),
    re_path(r"^\.search/?$", views.RootSearchView.as_view(), name="search"),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="root"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("<uuid:directory_id>/", include(directory_patterns)),
    path("<uuid:directory_id>", views.NotFoundView.as_view()),
    re_path(r"^.*$", csrf_exempt(views.unknown_endpoint)),
]
