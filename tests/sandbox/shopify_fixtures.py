"""Fixtures for the simulated Shopify: seeded shops, the real ShopifyClient over live HTTP,
and a throwaway HTTP server that records webhook deliveries.

Test modules import them all: `from .shopify_fixtures import *  # noqa: F403`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.shopify.models import Shop, WebhookKnobs
from sandbox.shopify.seed import seed_shop
from sync.clients.shopify import ShopifyClient
from sync.clients.shopify_data import ShopifyConfig

SHOPIFY_PREFIX = "/sandbox/shopify"

__all__ = [
    "shopify_base_url",
    "shopify_client",
    "shopify_graphql_url",
    "shopify_knobs",
    "shopify_shop",
    "webhook_receiver",
]


@pytest.fixture
def shopify_shop(transactional_db) -> Callable[..., tuple[dict, list[tuple[str, int]]]]:
    """Seed a shop: `creds, totals = shopify_shop(variants=10, locations=2)`."""

    def make(*, variants: int = 10, locations: int = 2, **bucket) -> tuple[dict, list]:
        creds, totals = seed_shop(variants=variants, locations=locations)
        if bucket:  # e.g. bucket_size=30, restore_rate=50: a small cost bucket
            bucket.setdefault("bucket_available", bucket.get("bucket_size", 2000))
            Shop.objects.filter(domain=creds["shop"]).update(**bucket)
        return creds, totals

    return make


@pytest.fixture
def shopify_base_url(live_server) -> Callable[[str], str]:
    """The sandbox base URL of a shop, as `ShopifyConfig.base_url` takes it."""
    return lambda shop: f"{live_server.url}{SHOPIFY_PREFIX}/{shop}"


@pytest.fixture
def shopify_graphql_url(shopify_base_url) -> Callable[[str], str]:
    return lambda shop: f"{shopify_base_url(shop)}/admin/api/2026-07/graphql.json"


@pytest.fixture
def shopify_client(shopify_base_url) -> Callable[..., ShopifyClient]:
    """A real ShopifyClient for seeded credentials: `shopify_client(creds)` uses the static
    token, `shopify_client(creds, grant=True)` the client-credentials grant."""
    clients: list[ShopifyClient] = []

    def make(creds: dict, *, grant: bool = False, **kwargs) -> ShopifyClient:
        config = ShopifyConfig(
            shop_domain=creds["shop"],
            access_token="" if grant else creds["access_token"],
            client_id=creds["client_id"] if grant else "",
            client_secret=creds["client_secret"] if grant else "",
            base_url=shopify_base_url(creds["shop"]),
        )
        kwargs.setdefault("timeout", (2.0, 30.0))
        client = ShopifyClient(config, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def shopify_knobs(transactional_db) -> Callable[..., WebhookKnobs]:
    """Set webhook knobs: `shopify_knobs(duplicate_share=1.0)`."""

    def set_knobs(**values) -> WebhookKnobs:
        knobs = WebhookKnobs.load()
        for name, value in values.items():
            setattr(knobs, name, value)
        knobs.save()
        return knobs

    return set_knobs


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint that records every POST (answering `fail_next` of them 500)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def webhook_receiver() -> WebhookReceiver:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.condition:
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                else:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                receiver.condition.notify_all()
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/shopify"
    yield receiver
    server.shutdown()
    server.server_close()
