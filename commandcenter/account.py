"""Console admins' sign-in: the password step (audited), the second factor (set up with
an authenticator app and recovery codes, asked at each sign-in, reset), and the org's
Settings > Identity and Access > Admin page, which can require it of every admin.

Views parse, call one service, and render; the org page goes through get_org_for_admin
(404 to non-admins). commandcenter.middleware.AdminMfaMiddleware sends admins here."""

from __future__ import annotations

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from commandcenter.forms import SignInForm
from commandcenter.views import actor_of, get_org_for_admin, user_of
from directory import services
from directory.services import admin_mfa


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )


class AdminMfaForm(forms.Form):
    required = forms.BooleanField(
        label="Require a second factor of every admin of this org", required=False
    )


class ConsoleLoginView(auth_views.LoginView):
    authentication_form = SignInForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        services.admin_signin_record(
            user=form.get_user(), actor=actor_of(self.request), step="password"
        )
        return response


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if ok and target.startswith("/") else reverse("home")


@login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enrolment = services.admin_totp_confirm(
            user=user, token=form.cleaned_data["code"], actor=actor_of(request)
        )
        if enrolment is not None:
            otp_login(request, enrolment.device)
            response = render(
                request,
                "account/mfa_codes.html",
                {"codes": enrolment.recovery_codes, "next": _next(request)},
            )
            response["Cache-Control"] = "no-store"
            return response
        form.add_error("code", "That code is not the app's current one: try the next.")
    device = services.admin_totp_start(user=user)
    qr = segno.make(device.config_url, error="m")
    response = render(
        request,
        "account/mfa_setup.html",
        {
            "form": form,
            "qr": mark_safe(qr.svg_inline(scale=4, dark="#000", light="#fff")),  # noqa: S308
            "secret": admin_mfa.admin_totp_secret(device),
            "required": admin_mfa.admin_mfa_required(user=user),
            "next": _next(request),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not admin_mfa.admin_mfa_enrolled(user=user):
        return redirect("mfa-setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.admin_mfa_verify(
            user=user, token=form.cleaned_data["code"], actor=actor_of(request)
        )
        if device is not None:
            otp_login(request, device)
            services.admin_signin_record(user=user, actor=actor_of(request), step="mfa")
            return HttpResponseRedirect(_next(request))
        form.add_error("code", "Wrong code. Use the app's current code, or a recovery code.")
    return render(request, "account/mfa_verify.html", {"form": form, "next": _next(request)})


@login_required
@require_POST
def mfa_reset(request: HttpRequest) -> HttpResponse:
    services.admin_mfa_reset(user=user_of(request), actor=actor_of(request))
    messages.success(
        request,
        "Your second factor is removed: the app's codes and the recovery codes no longer work.",
    )
    return redirect("api-keys")


@login_required
def org_admin_signin(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_org_for_admin(request, slug)
    if request.method == "POST":
        form = AdminMfaForm(request.POST)
        if form.is_valid():
            services.org_admin_mfa_set(
                org=org, required=form.cleaned_data["required"], actor=actor_of(request)
            )
            messages.success(
                request,
                "Every admin of this org now signs in with a second factor."
                if org.admins_need_mfa
                else "A second factor is now each admin's choice.",
            )
            return redirect("settings-admin", slug=org.slug)
    admins = [
        (a.user.username, admin_mfa.admin_mfa_enrolled(user=a.user))
        for a in org.admins.select_related("user").order_by("user__username")
    ]
    return render(
        request,
        "console/settings_admin.html",
        {
            "org": org,
            "form": AdminMfaForm(initial={"required": org.admins_need_mfa}),
            "admins": admins,
            "section": "settings",
        },
    )
