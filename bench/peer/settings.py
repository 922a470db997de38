"""The stock django-scim2 peer bench/versus.py measures Command Center against.

Django, django-scim2 with its default adapters and filter parser, a Django user model with
its SCIM mixin, and a bearer token looked up in the database on every request: what a team
gets from the library's README, with persistent connections. Not part of the product.
"""

import os

import dj_database_url

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.peer.urls"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django_scim", "bench.peer"]
MIDDLEWARE = [
    "bench.peer.auth.BearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]
AUTH_USER_MODEL = "peer.User"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["PEER_DATABASE_URL"], conn_max_age=600, conn_health_checks=True
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# The Okta body carries a password, which the stock adapter hashes. Django's default
# hasher spends about half a second of CPU on it; Command Center stores no passwords, so
# the peer gets the fast hasher and the comparison is about SCIM, not PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",
    "SCHEME": "http",
    "AUTHENTICATION_SCHEMES": [
        {"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "bearer"}
    ],
}
