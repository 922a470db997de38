"""Migrates the peer's database and prints a new bearer token for it.

DJANGO_SETTINGS_MODULE=bench.peer.settings python -m bench.peer.prepare
"""

import hashlib
import secrets

import django
from django.core.management import call_command


def main() -> None:
    django.setup()
    from bench.peer.models import Token, User

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="okta-provisioning")
    token = secrets.token_urlsafe(32)
    Token.objects.create(digest=hashlib.sha256(token.encode()).hexdigest(), user=user)
    print(token)


if __name__ == "__main__":
    main()
