"""Production settings: `check --deploy` is clean, secrets are required, the sandbox is off."""

import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

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
