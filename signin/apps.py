from __future__ import annotations

from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "signin"
    verbose_name = "End-user sign-in"
