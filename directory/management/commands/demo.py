from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from directory.audit import operator_actor
from directory.models import Org
from directory.services import idp_configure, org_admin_add, org_create

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "commandcenter-demo"  # noqa: S105 - printed for the embedded demo only


class Command(BaseCommand):
    help = "Create the demo org and its admin (idempotent) and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        org = Org.objects.filter(slug=DEMO_SLUG).first()
        if org is None:
            org = org_create(slug=DEMO_SLUG, name="Demo Org", seats=25)
            idp_configure(org=org, provider="okta", protocol="saml", actor=operator_actor())
        org_admin_add(org=org, email=DEMO_EMAIL)
        user = User.objects.get(username=DEMO_EMAIL)
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        self.stdout.write(
            f"Demo org {org.slug!r} is ready. Sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )
