"""The Shopify client's retries on 5xx, 429 and dropped connections, bounded, over real HTTP."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sync.clients.errors import RateLimited, TransientError
from sync.clients.shopify import ShopifyClient
from sync.clients.shopify_data import ShopifyConfig

OK_BODY = {
    "data": {"shop": {"id": "gid://shopify/Shop/1", "name": "Flaky", "myshopifyDomain": "f"}},
    "extensions": {
        "cost": {
            "requestedQueryCost": 1,
            "actualQueryCost": 1,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1999,
                "restoreRate": 100.0,
            },
        }
    },
}


@pytest.fixture
def flaky_shopify():
    """A local server answering the queued statuses first, then a valid GraphQL answer."""
    state = {"statuses": [], "calls": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state["calls"] += 1
            status = state["statuses"].pop(0) if state["statuses"] else 200
            body = json.dumps(OK_BODY if status == 200 else {"errors": "boom"}).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0.01")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _client(base_url, **kwargs):
    config = ShopifyConfig(shop_domain="flaky.myshopify.com", access_token="t", base_url=base_url)
    return ShopifyClient(config, sleep=lambda seconds: None, **kwargs)


def test_5xx_and_429_answers_are_retried_until_shopify_answers(flaky_shopify):
    flaky_shopify["statuses"] = [503, 429, 500]
    assert _client(flaky_shopify["url"]).test_connection()["name"] == "Flaky"
    assert flaky_shopify["calls"] == 4


def test_retries_are_bounded_and_end_in_our_own_exceptions(flaky_shopify):
    flaky_shopify["statuses"] = [503] * 10
    with pytest.raises(TransientError):
        _client(flaky_shopify["url"], max_retries=2).test_connection()
    assert flaky_shopify["calls"] == 3
    flaky_shopify["statuses"] = [429] * 10
    with pytest.raises(RateLimited):
        _client(flaky_shopify["url"], max_retries=1).test_connection()


def test_a_refused_connection_is_a_transient_error_after_retries():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError):
        _client(f"http://127.0.0.1:{port}", max_retries=2).test_connection()
