"""Production settings: `check --deploy` is clean, secrets are required, the sandbox is off."""

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.settings import keys

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env_overrides):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        "STOCKLINK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "stocklink.example.com",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    env.update(env_overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets():
    result = run_manage("check", DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    result = run_manage("check", STOCKLINK_ENCRYPTION_KEYS=None)
    assert "STOCKLINK_ENCRYPTION_KEYS" in result.stderr


def test_sandbox_is_off_and_its_urls_absent_in_production():
    code = (
        "import django; django.setup();"
        "from django.conf import settings; from django.urls import resolve, Resolver404;"
        "assert 'sandbox' not in settings.INSTALLED_APPS;"
        "\ntry:\n    resolve('/sandbox/amazon/auth/o2/token')"
        "\nexcept Resolver404:\n    print('absent')"
    )
    result = run_manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("absent")


def test_production_refuses_to_run_with_the_sandbox_on():
    result = run_manage("check", SANDBOX_ENABLED="true")
    assert result.returncode != 0
    assert "SANDBOX_ENABLED must be off" in result.stderr


def test_production_refuses_the_repositorys_dev_keys():
    result = run_manage("check", DJANGO_SECRET_KEY=keys.DEV_SECRET_KEY)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key from this repository" in result.stderr
    result = run_manage("check", STOCKLINK_ENCRYPTION_KEYS=keys.DEV_ENCRYPTION_KEY)
    assert result.returncode != 0
    assert "key 1 is the development key from this repository" in result.stderr


def test_production_refuses_the_dev_fernet_key_even_as_an_old_key():
    rotated = f"{Fernet.generate_key().decode()},{keys.DEV_ENCRYPTION_KEY}"
    result = run_manage("check", STOCKLINK_ENCRYPTION_KEYS=rotated)
    assert result.returncode != 0
    assert "key 2 is the development key" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = run_manage("check", DJANGO_SECRET_KEY="short-but-not-empty")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too short or too uniform" in result.stderr


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("dev-only-insecure-key-change-me-in-production-0123456789", "development key"),
        ("django-insecure-" + "k" * 50, "startproject"),
        ("a" * 60, "too short or too uniform"),
        ("abcdefghij" * 4, "too short or too uniform"),
    ],
)
def test_weak_secret_keys_are_named(key, problem):
    assert problem in keys.secret_key_problem(key)


def test_a_long_random_secret_key_passes():
    assert keys.secret_key_problem(secrets.token_urlsafe(50)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([], "at least one Fernet key"),
        (["not-a-key"], "is not a Fernet key"),
        ([base64.urlsafe_b64encode(b"short").decode()], "is not a Fernet key"),
        ([base64.urlsafe_b64encode(b"a" * 32).decode()], "not random enough"),
        ([keys.DEV_ENCRYPTION_KEY], "development key"),
    ],
)
def test_weak_encryption_keys_are_named(value, problem):
    assert problem in keys.encryption_keys_problem(value)


def test_generated_fernet_keys_pass():
    assert keys.encryption_keys_problem([Fernet.generate_key().decode()] * 2) is None
