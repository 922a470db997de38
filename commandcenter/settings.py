"""Command Center settings: one module, every environment differs only by env vars.

Embedded mode (the default for a first run): SQLite in the repository, no Redis,
emails printed to the console. Production: DATABASE_URL (Postgres), REDIS_URL,
SECRET_KEY, SITE_URL, ALLOWED_HOSTS and an SMTP EMAIL_BACKEND.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from directory.request_ids import JSON_FORMATTER

# Lets runtime code subscript Django generics (admin.ModelAdmin[Org]) for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.getenv(name, "")
    if value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"Unexpected value {name}={value!r}, use 'true' or 'false'")


def env_int(name: str, default: int) -> int:
    value = os.getenv(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    path = os.getenv(f"{name}_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {e}") from None
    return os.getenv(name, default)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


# General
# ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
REDIS_URL = os.getenv("REDIS_URL", "")
# Without Redis the service runs embedded: one machine, SQLite by default, no broker.
EMBEDDED = REDIS_URL == ""

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (REDIS_URL is set) needs a long random "
            "SECRET_KEY (or SECRET_KEY_FILE); generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    SECRET_KEY = "embedded-insecure-key-do-not-use-in-production"  # noqa: S105

SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.netloc:
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must look like scheme://host[:port]")
SITE_IS_HTTPS = _site.scheme == "https"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f"{_site.hostname},127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    # Console admins' second factor (commandcenter.account, directory.services.admin_mfa).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_scim",
    "commandcenter",
    "directory",
    "tokens",
    "webhooks",
    "scim",
    "signin",
]

MIDDLEWARE = [
    # A fresh id for every request: its log lines, its X-Request-ID header, its SCIM log entry.
    "commandcenter.middleware.RequestIdMiddleware",
    # First: REMOTE_ADDR becomes the client's address behind TRUSTED_PROXY_COUNT proxies.
    "commandcenter.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Answers /scim/v2/ itself: the API needs none of the console's middleware below.
    "scim.middleware.ScimMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the admin's second factor;
    # then the console asks for it (or for enrolment, where an org requires it).
    "django_otp.middleware.OTPMiddleware",
    "commandcenter.middleware.AdminMfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# The name authenticator apps show next to an admin's TOTP entry.
OTP_TOTP_ISSUER = "Command Center"

ROOT_URLCONF = "commandcenter.urls"
WSGI_APPLICATION = "commandcenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "commandcenter.context_processors.console",
            ],
        },
    },
]

# Database
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Persistent connections: a SCIM sync is thousands of small requests.
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL and a busy timeout let the web process and the scheduler share the file.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, for the test database: live-server and worker tests then
    # run with one connection per thread or process, as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check of persistent connections that asks Postgres
    # only when the connection's socket says something happened (commandcenter/postgresql).
    DATABASES["default"]["ENGINE"] = "commandcenter.postgresql"
    # An unreachable database must fail fast (SCIM answers 503), not hang a worker.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5
    )
    # Behind PgBouncer in transaction mode (docs/scaling.md) a server-side cursor, which
    # Django declares WITH HOLD outside a transaction, would be fetched from on whatever
    # server connection the next transaction gets, where it does not exist: streamed
    # reads (.iterator(), the CSV exports) then read their rows client-side instead.
    # Prepared statements need nothing: Django's psycopg backend makes none by default.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "DISABLE_SERVER_SIDE_CURSORS", False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache
# ------------------------------------------------------------------------------
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {
            "BACKEND": "directory.cache.RedisCache",
            "LOCATION": REDIS_URL,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Auth
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for
# one account from one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed but not hashed names: the same storage works before and after
    # collectstatic (tests, the Docker build), so no mode can miss a manifest.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders when collectstatic has not run.
WHITENOISE_USE_FINDERS = True

# Email
# ------------------------------------------------------------------------------
EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.getenv("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "emails"))
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Command Center <noreply@localhost>")

# Security
# ------------------------------------------------------------------------------
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=true so Django trusts
# X-Forwarded-Proto. Everything below follows SITE_URL's scheme unless overridden.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front append to X-Forwarded-For (the README's TLS proxy: 1). The
# client address is then read from it (commandcenter.middleware); 0 ignores the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Requests this server makes to URLs an admin typed (IdP metadata, OIDC discovery) may go
# to private and loopback addresses, over plain http too: for development and tests only
# (directory.outbound).
OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
# Webhook endpoints on private and loopback addresses, over plain http: development and
# tests only (link-local addresses stay refused).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# End-user sign-in (the signin app): the session cookie, apart from the console's, and
# how long a session lasts.
END_USER_SESSION_COOKIE = "cc_signin"
END_USER_SESSION_AGE = env_int("END_USER_SESSION_AGE", 8 * 3600)
# Sign-in attempts (starts and IdP answers) one client address may make per minute.
SIGNIN_ATTEMPTS_PER_MINUTE = env_int("SIGNIN_ATTEMPTS_PER_MINUTE", 30)
# Fernet keys for the secrets stored in the database, comma-separated: the first encrypts,
# all decrypt (directory.encryption). Unset: one derived from SECRET_KEY.
# Read like SECRET_KEY: from the variable or from the file FIELD_ENCRYPTION_KEYS_FILE names.
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in env_secret("FIELD_ENCRYPTION_KEYS").split(",") if k.strip()
]
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SITE_IS_HTTPS and not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SITE_IS_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SITE_IS_HTTPS)
CSRF_TRUSTED_ORIGINS = [SITE_URL]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SITE_IS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Celery
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Events
# ------------------------------------------------------------------------------
# Provisioning events older than this are deleted by a daily task.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 90)
# The provisioning log (every SCIM request, directory.models.ScimRequest); off only to
# measure what it costs (bench/README.md).
SCIM_REQUEST_LOG = env_bool("SCIM_REQUEST_LOG", True)
# Each process writes its buffered log entries this often, in one bulk INSERT (0: each
# entry as its request ends). A crash loses at most this long's entries.
SCIM_REQUEST_LOG_FLUSH_MS = env_int("SCIM_REQUEST_LOG_FLUSH_MS", 1000)

# SCIM
# ------------------------------------------------------------------------------
# django-scim2 reads this dict at import time; our own views replace its URL
# handling (see scim/), the rest are the library's extension points.
SCIM_SERVICE_PROVIDER = {
    "NETLOC": _site.netloc,
    "SCHEME": _site.scheme,
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a SCIM API token from the Command Center console",
            "primary": True,
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="Command Center SCIM"',
    "GROUP_MODEL": "directory.models.Group",
    "USER_ADAPTER": "scim.adapters.ScimUser",
    "GROUP_ADAPTER": "scim.adapters.ScimGroup",
}
# Rate limits, requests per second: per SCIM token, and per org (all its tokens;
# an org's own scim_rate_limit overrides it). Over the limit: 429 with Retry-After.
SCIM_RATE_PER_TOKEN = env_int("SCIM_RATE_PER_TOKEN", 100)
# Failed SCIM authentications (no, a wrong or a revoked token) one client address may make
# per minute; past that its requests get 429 without a database lookup until the minute
# ends, except with a token already known to be valid.
SCIM_AUTH_FAILURES_PER_MINUTE = env_int("SCIM_AUTH_FAILURES_PER_MINUTE", 20)
SCIM_RATE_PER_ORG = env_int("SCIM_RATE_PER_ORG", 200)
# SCIM list page size when the client gives no `count`.
SCIM_DEFAULT_PAGE_SIZE = env_int("SCIM_DEFAULT_PAGE_SIZE", 100)
# Largest SCIM request body accepted; bigger ones get 413 (a 10,000-member replace fits).
SCIM_MAX_BODY_BYTES = env_int("SCIM_MAX_BODY_BYTES", 2 * 1024 * 1024)
# Largest page a SCIM list returns, whatever `count` asks for.
SCIM_MAX_PAGE_SIZE = env_int("SCIM_MAX_PAGE_SIZE", 1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = SCIM_MAX_BODY_BYTES

# Metrics
# ------------------------------------------------------------------------------
# /metrics (commandcenter.metrics) answers only `Authorization: Bearer <METRICS_TOKEN>`;
# unset, it is a 404.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# Admin REST API
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "commandcenter.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "commandcenter.api.auth.ReadOnlyKeysOnlyRead",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["commandcenter.api.auth.PerKeyThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.getenv("API_RATE", "600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "commandcenter.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Command Center admin API",
    "DESCRIPTION": "Everything the console does, for scripts. Errors are "
    '{"error": {"code", "message", "field"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "commandcenter.api.summaries.add_summaries",
    ],
}

# Logging
# ------------------------------------------------------------------------------
# LOG_FORMAT=json (the Docker image's default): one JSON object a line with time, level,
# logger, message, request_id (directory.request_ids) and any exception; plain text
# otherwise (make run, the tests).
LOG_FORMAT = os.getenv("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be 'plain' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "directory.request_ids.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": dict(JSON_FORMATTER),
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
