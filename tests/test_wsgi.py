"""The WSGI application: Shopify webhooks take a shorter middleware path, the rest all of it."""

import io
import json
import sys

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from sync.models import WebhookEvent
from tests.factories import InventoryLevelFactory
from tests.sync.test_webhooks import level_payload, sign

pytestmark = pytest.mark.django_db


def call(path, *, method="GET", body=b"", headers=None):
    """Call config.wsgi.application as gunicorn does (connections kept, as the test client)."""
    from config.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **(headers or {}),
    }
    answer = {}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, lambda s, h, e=None: answer.update(status=s, headers=h))
        content = b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(answer["status"].split()[0]), dict(answer["headers"]), content


def test_a_signed_webhook_is_stored_through_the_lean_handler(settings):
    from config.wsgi import webhook_application

    level = InventoryLevelFactory()
    store = level.variant.store
    body = json.dumps(level_payload(level)).encode()
    status, headers, content = call(
        "/webhooks/shopify/",
        method="POST",
        body=body,
        headers={
            "HTTP_X_SHOPIFY_TOPIC": "inventory_levels/update",
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": store.shop_domain,
            "HTTP_X_SHOPIFY_EVENT_ID": "wsgi-1",
            "HTTP_X_SHOPIFY_HMAC_SHA256": sign(store.webhook_secret, body),
        },
    )

    assert (status, content) == (200, b"Queued.")
    assert WebhookEvent.objects.filter(event_id="wsgi-1", store=store).exists()
    # Only WEBHOOK_MIDDLEWARE ran: no clickjacking header (XFrameOptionsMiddleware is skipped).
    assert "X-Frame-Options" not in headers
    assert len(settings.WEBHOOK_MIDDLEWARE) < len(settings.MIDDLEWARE)
    assert webhook_application._middleware_chain is not None


def test_a_forged_webhook_through_the_lean_handler_is_refused_and_stores_nothing():
    level = InventoryLevelFactory()
    status, _, _ = call(
        "/webhooks/shopify/",
        method="POST",
        body=b'{"inventory_item_id": 1}',
        headers={
            "HTTP_X_SHOPIFY_TOPIC": "inventory_levels/update",
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": level.variant.store.shop_domain,
            "HTTP_X_SHOPIFY_HMAC_SHA256": "forged==",
        },
    )
    assert status == 401
    assert not WebhookEvent.objects.exists()


def test_a_get_on_the_webhook_path_is_405_and_other_paths_take_every_middleware():
    assert call("/webhooks/shopify/")[0] == 405
    status, headers, _ = call("/admin/login/")
    assert status == 200 and headers.get("X-Frame-Options") == "DENY"


def test_the_lean_handler_times_each_webhook_by_its_answer_class():
    from prometheus_client import REGISTRY

    def count(status):
        value = REGISTRY.get_sample_value(
            "stocklink_webhook_request_seconds_count", {"status": status}
        )
        return value or 0

    level = InventoryLevelFactory()
    store = level.variant.store
    body = json.dumps(level_payload(level)).encode()
    signed = {
        "HTTP_X_SHOPIFY_TOPIC": "inventory_levels/update",
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": store.shop_domain,
        "HTTP_X_SHOPIFY_EVENT_ID": "wsgi-timed",
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(store.webhook_secret, body),
    }
    ok, refused = count("2xx"), count("4xx")

    assert call("/webhooks/shopify/", method="POST", body=body, headers=signed)[0] == 200
    forged = {**signed, "HTTP_X_SHOPIFY_HMAC_SHA256": "forged=="}
    assert call("/webhooks/shopify/", method="POST", body=body, headers=forged)[0] == 401

    assert (count("2xx"), count("4xx")) == (ok + 1, refused + 1)
