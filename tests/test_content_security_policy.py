"""Under production settings every admin page carries a strict CSP and needs no inline script."""

import json
import re

import pytest

from tests.test_production_settings import run_manage

# Runs inside `manage.py shell` under production settings, on a fresh SQLite file.
RENDER_ADMIN_PAGES = """
import json
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

call_command("migrate", verbosity=0)
root = get_user_model().objects.create_superuser("root", "root@example.com", "x")
urls = ["/admin/login/", "/admin/"]
for model in admin.site._registry:
    for view in ("changelist", "add"):
        try:
            urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"))
        except NoReverseMatch:
            pass
# The manifest storage needs collectstatic; the plain storage renders the same tags.
# Requests arrive through the TLS proxy, as production expects (SECURE_PROXY_SSL_HEADER).
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
with override_settings(STORAGES={"default": plain, "staticfiles": plain}):
    pages = {}
    anonymous = Client(HTTP_HOST="stocklink.example.com", HTTP_X_FORWARDED_PROTO="https")
    client = Client(HTTP_HOST="stocklink.example.com", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(root)
    for url in urls:
        response = (anonymous if url == "/admin/login/" else client).get(url)
        pages[url] = {
            "status": response.status_code,
            "csp": response.headers.get("Content-Security-Policy", ""),
            "html": response.content.decode(),
        }
print("PAGES=" + json.dumps(pages))
"""

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle=", re.I)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("csp")
    result = run_manage(
        "shell", "-c", RENDER_ADMIN_PAGES, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("PAGES="))
    return json.loads(line.removeprefix("PAGES="))


def test_admin_pages_send_a_strict_policy_and_use_no_inline_script_or_style(pages):
    assert "/admin/profiles/globalprofile/add/" in pages
    for url, page in pages.items():
        # Read-only models refuse their add page even to a superuser; the rest open.
        assert page["status"] == 200 or (page["status"] == 403 and url.endswith("/add/")), url
        policy = dict(part.strip().split(" ", 1) for part in page["csp"].split(";") if part.strip())
        assert policy["script-src"] == "'self'", url
        assert policy["style-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'", url
        assert "unsafe-inline" not in page["csp"], url
        for attributes, body in SCRIPT_TAG.findall(page["html"]):
            # Only scripts from a file run; JSON data blocks are never executed.
            runs_inline = "src=" not in attributes and "application/json" not in attributes
            assert not (runs_inline and body.strip()), f"inline script on {url}: {body[:80]}"
        assert not STYLE_ATTR.search(page["html"]), f"inline style on {url}"


def test_the_profile_preview_script_is_a_static_file(pages):
    html = pages["/admin/profiles/globalprofile/add/"]["html"]
    assert '<script src="/static/profiles/result_preview.js"></script>' in html
