from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SITE_URL": "https://cc.example.com",
    "ALLOWED_HOSTS": "cc.example.com",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://cc@127.0.0.1:5432/cc",
}


def _env(**overrides: str) -> dict[str, str]:
    dropped = {*PRODUCTION, "SECRET_KEY_FILE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["DJANGO_SETTINGS_MODULE"] = "commandcenter.settings"
    env.update(overrides)
    return env


def test_production_without_a_secret_key_fails_at_startup_with_a_clear_message() -> None:
    env = _env(REDIS_URL="redis://127.0.0.1:6379/0")
    r = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "ImproperlyConfigured" in r.stderr and "SECRET_KEY is not set" in r.stderr


def test_check_deploy_is_clean_with_production_settings() -> None:
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_the_embedded_default_needs_nothing_but_python() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.EMBEDDED)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_a_bad_boolean_is_refused_by_name() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=_env(DEBUG="sometimes"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and "DEBUG" in r.stderr


def test_production_reads_the_secret_key_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key = secrets.token_urlsafe(50)
    key_file.write_text(key + "\n")
    env = _env(**PRODUCTION, SECRET_KEY_FILE=str(key_file))
    del env["SECRET_KEY"]
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == key
