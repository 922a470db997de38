from __future__ import annotations

from django.urls import path

from signin import oidc, saml, sso, views

urlpatterns = [
    path("sso/<slug:slug>/", sso.start, name="signin-start"),
    path("sso/<slug:slug>/saml/metadata/", saml.metadata, name="saml-metadata"),
    path("sso/<slug:slug>/saml/acs/", saml.acs, name="saml-acs"),
    path("sso/<slug:slug>/oidc/callback/", oidc.callback, name="oidc-callback"),
    path("me/", views.me, name="me"),
    path("me/signout/", views.signout, name="me-signout"),
]
