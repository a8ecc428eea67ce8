"""The production topology as `make serve-prod` starts it: gunicorn, two Celery workers on their
queues (realtime: webhooks, pushes; batch: orders, jobs) and beat, on PostgreSQL and Redis.

Settings are config.settings.staging (production's, with the sandbox allowed), so the whole
story runs over real HTTP through gunicorn: the sandbox's Shopify and Amazon are served by it,
the sandbox's webhook delivery (a task on the batch worker) posts to it, the realtime worker
re-reads, recomputes and pushes through it, and beat's order import (batch worker) takes an
Amazon sale off Shopify through it.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AmazonAccount, InventoryLevel
from config.tasks import HEARTBEAT_KEY
from profiles.models import default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.amazon.models import Order as AmazonSandboxOrder
from sandbox.shopify.models import AdjustmentGroup
from sandbox.shopify.services import level_for, set_available
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.webhooks import webhooks_subscribe
from sync.linking import selling_list_link_by_sku
from sync.models import OrderStockEntry, PushState, QtyPush, WebhookEvent
from sync.orders.apply import REFERENCE_URI
from tests.sandbox_world import US
from tests.workers.conftest import BROKER_DB, ROOT, _needs_services, _reset_connections, wait_until

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

UNSETTLED = [PushState.PENDING, PushState.SENDING, PushState.SENT]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except OSError:
        return 0, {}, b""


@pytest.fixture
def topology(transactional_db, tmp_path):
    """Start scripts/serve_prod.sh on a free port; yield its base URL; stop every process."""
    _needs_services()
    import redis

    from config.celery import app

    broker = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    # An earlier run's beat heartbeat would pass /health/ before this beat has ticked.
    cache = redis.Redis.from_url(settings.REDIS_URL)
    for key in cache.scan_iter(match=f"*{HEARTBEAT_KEY}"):
        cache.delete(key)
    db = connection.settings_dict
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.staging",
        SANDBOX_ENABLED="true",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECRET_KEY="staging-" + "k" * 50,
        STOCKLINK_ENCRYPTION_KEYS=",".join(settings.STOCKLINK_ENCRYPTION_KEYS),
        STOCKLINK_METRICS_TOKEN="scrape-token",
        DATABASE_URL=(
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        REDIS_URL=settings.REDIS_URL,
        STOCKLINK_BASE_URL=base_url,
        STOCKLINK_RUN_DIR=str(tmp_path),
        PORT=str(port),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        WORKER_CONCURRENCY="1",
        DJANGO_LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
        # Beat looks for due order imports every 5 s and an account is due every 5 s, so an
        # order arrives within seconds; searchOrders' burst of 20 covers the test's imports.
        SYNC_ORDERS_IMPORT_SECONDS="5",
        SYNC_ORDERS_INTERVAL_SECONDS="5",
    )
    log = tmp_path / "serve-prod.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/serve_prod.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one below
        )
    saved = {k: app.conf.get(k) for k in ("broker_url", "broker_transport", "task_always_eager")}
    app.conf.update(broker_url=broker, broker_transport=None, task_always_eager=False)
    _reset_connections(app)
    try:
        wait_until(
            lambda: process.poll() is not None or get(f"{base_url}/health/web/")[0] == 200,
            timeout=120,
            interval=0.5,
            what="gunicorn to answer /health/web/",
        )
        assert process.poll() is None, log.read_text()[-4000:]
        yield base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        app.conf.update(**saved)
        _reset_connections(app)


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    """/metrics as Prometheus reads it: {(sample name, sorted labels): value}."""
    status, _, body = get(f"{base_url}/metrics", {"Authorization": "Bearer scrape-token"})
    assert status == 200, body[:500]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def signed_webhook(url: str, store, payload: dict, *, secret: str | None = None):
    body = json.dumps(payload).encode()
    key = (secret or store.webhook_secret).encode()
    digest = hmac.new(key, body, hashlib.sha256).digest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "inventory_levels/update",
            "X-Shopify-Shop-Domain": store.shop_domain,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


class AdminBrowser:
    """A signed-in admin user talking to gunicorn over plain HTTP, as a browser would.

    The deployed settings mark cookies Secure and check CSRF against an https origin, so each
    request says it came through the TLS proxy (`X-Forwarded-Proto`, trusted from 127.0.0.1)
    and the cookies are kept here rather than by urllib, which will not send Secure cookies
    over http.
    """

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        self.origin = "https://" + base_url.split("://", 1)[1]
        self.cookies: dict[str, str] = {}
        status, body = self.get("/admin/login/")
        assert status == 200, body[:500]
        status, body = self.post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
            csrf_from=body,
        )
        assert status == 302 and "sessionid" in self.cookies, body[:500]

    def _open(self, path: str, data: bytes | None = None) -> tuple[int, bytes]:
        headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if data is not None:
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": self.origin + path,
            }
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            response = opener.open(request, timeout=10)
        except urllib.error.HTTPError as exc:
            response = exc
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        return self._open(path)

    def post(self, path: str, form: dict, *, csrf_from: bytes) -> tuple[int, bytes]:
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', csrf_from)
        assert token, "no CSRF token on the page"
        fields = [("csrfmiddlewaretoken", token.group(1).decode()), *_pairs(form)]
        return self._open(path, urllib.parse.urlencode(fields).encode())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer (and carries the cookies)


def _pairs(form: dict) -> list[tuple[str, str]]:
    return [
        (key, str(item))
        for key, value in form.items()
        for item in (value if isinstance(value, list) else [value])
    ]


def fbm_listings():
    return Listing.objects.filter(
        fulfillment_channel=FulfillmentChannel.FBM, computed_quantity__isnull=False
    )


def settled() -> bool:
    if QtyPush.objects.filter(state__in=UNSETTLED).exists():
        return False
    return not fbm_listings().exclude(status=ListingStatus.LINKED).exists()


def amazon_differs(seller_id: str) -> dict:
    shown = dict(
        AmazonListing.objects.filter(seller__seller_id=seller_id, marketplace_id=US).values_list(
            "sku", "quantity"
        )
    )
    return {
        listing.sku: (listing.computed_quantity, shown.get(listing.sku))
        for listing in fbm_listings()
        if shown.get(listing.sku) != listing.computed_quantity
    }


def test_gunicorn_workers_and_beat_serve_health_and_webhooks_and_the_story_runs_both_ways(
    topology, settings, django_user_model
):
    from sandbox.amazon.seed import seed_seller
    from sandbox.connect import connect_sandbox
    from sandbox.shopify.seed import seed_shop
    from sync.clients.amazon import clear_token_cache

    # Health: database, Redis cache, broker, both workers on all four queues, and beat's
    # heartbeat (its first tick comes 15 s after beat starts).
    wait_until(
        lambda: get(f"{topology}/health/?format=json")[0] == 200,
        timeout=90,
        interval=1.0,
        what="/health/ to report every check OK",
    )
    status, _, body = get(f"{topology}/health/?format=json")
    assert status == 200 and set(json.loads(body).values()) == {"OK"}, body
    assert get(f"{topology}/metrics")[0] == 401
    status, _, body = get(f"{topology}/metrics", {"Authorization": "Bearer scrape-token"})
    assert status == 200 and b"django_http_requests_total_by_view_transport_method" in body

    # Connect a sandbox shop and seller through gunicorn, as demo_seed does.
    clear_token_cache()
    settings.STOCKLINK_BASE_URL = topology
    shop, stock = seed_shop(variants=5, locations=1)
    amazon = seed_seller(
        listings=[(sku, max(qty, 0), "DEFAULT") for sku, qty in stock], marketplace_ids=(US,)
    )
    store, account = connect_sandbox(shop=shop, amazon=amazon, base_url=topology)
    catalogue_import(store=store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=account,
        marketplace_id=US,
        shopify_store=store,
        profile=default_profile(),
    )
    selling_list_link_by_sku(selling_list=selling_list)
    webhooks_subscribe(store=store)
    wait_until(settled, timeout=120, what="the linking pushes to settle")

    # A signed webhook is answered by gunicorn and processed by the realtime worker.
    level = InventoryLevel.objects.select_related("variant", "location").first()
    status, headers, body = signed_webhook(
        f"{topology}/webhooks/shopify/",
        store,
        {
            "inventory_item_id": level.variant.inventory_item_id,
            "location_id": level.location.shopify_id,
            "available": level.available,
        },
    )
    assert status == 200, body
    assert headers.get("Server", "").startswith("gunicorn")
    wait_until(
        lambda: WebhookEvent.objects.filter(processed_at__isnull=False).exists(),
        timeout=60,
        what="the webhooks queue's worker to process the event",
    )

    # The story: a stock change in the sandbox's Shopify reaches the sandbox's Amazon.
    sku = next(sku for sku, _ in stock if level_for(shop=shop["shop"], sku=sku).variant.tracked)
    shopify_level = level_for(shop=shop["shop"], sku=sku)
    set_available(level=shopify_level, quantity=max(shopify_level.available, 0) + 7)
    listing = Listing.objects.get(selling_list=selling_list, sku=sku)
    wait_until(
        lambda: (
            Listing.objects.get(pk=listing.pk).computed_quantity
            == max(shopify_level.available, 0) + 7
        ),
        timeout=60,
        what="the webhook to recompute the listing",
    )
    wait_until(
        lambda: settled() and not amazon_differs(account.seller_id),
        timeout=120,
        what="the new quantity to reach the sandbox's Amazon",
    )
    shown = AmazonListing.objects.get(
        seller__seller_id=account.seller_id, marketplace_id=US, sku=sku
    ).quantity
    assert shown == max(shopify_level.available, 0) + 7

    # The other way: an MFN order placed in the sandbox's Amazon (its admin action, through
    # gunicorn) is imported on beat's schedule and taken off the sandbox's Shopify, once.
    # Hashed as the staging settings hash: they do not know the test settings' fast hasher.
    ops = django_user_model.objects.create_superuser("ops", "ops@example.com")
    ops.password = PBKDF2PasswordHasher().encode("a-long-passphrase-1", salt="stocklinktest")
    ops.save(update_fields=["password"])
    admin = AdminBrowser(topology, "ops", "a-long-passphrase-1")
    sold = AmazonListing.objects.get(
        seller__seller_id=account.seller_id, marketplace_id=US, sku=sku
    )
    before = level_for(shop=shop["shop"], sku=sku).available
    changelist = "/admin/sandbox_amazon/listing/"
    status, page = admin.get(changelist)
    assert status == 200, page[:500]
    status, body = admin.post(
        changelist,
        {"action": "place_mfn_order", "_selected_action": [sold.pk], "index": 0},
        csrf_from=page,
    )
    assert status == 302, body[:500]
    order = AmazonSandboxOrder.objects.get(items__listing=sold)
    assert order.fulfilled_by == "MERCHANT"

    def entries():
        return OrderStockEntry.objects.filter(order_item__order__order_id=order.order_id)

    wait_until(
        lambda: entries().filter(state=OrderStockEntry.State.APPLIED).exists(),
        timeout=90,
        what="beat's order import to take the sale off Shopify",
    )
    applied_at = entries().get().applied_at
    assert level_for(shop=shop["shop"], sku=sku).available == before - 1
    # Once: a later import reads the same order again (each window overlaps the last).
    wait_until(
        lambda: AmazonAccount.objects.get(pk=account.pk).orders_synced_until > applied_at,
        timeout=60,
        what="a second order import after the sale was applied",
    )
    wait_until(
        lambda: not OrderStockEntry.objects.filter(state=OrderStockEntry.State.PENDING).exists(),
        timeout=30,
        what="the second import's apply to finish",
    )
    assert list(entries().values_list("action", "quantity", "state")) == [
        (OrderStockEntry.Action.DECREMENT, 1, OrderStockEntry.State.APPLIED)
    ]
    assert level_for(shop=shop["shop"], sku=sku).available == before - 1
    reference = REFERENCE_URI.format(order_id=order.order_id)
    assert AdjustmentGroup.objects.filter(reference_document_uri=reference).count() == 1
    # Shopify's webhook for the sale brings Amazon to the new Result too.
    wait_until(
        lambda: settled() and not amazon_differs(account.seller_id),
        timeout=120,
        what="Amazon to show the Result after the sale",
    )

    # Our own metrics, scraped through gunicorn: the pushes the workers settled, and one forged
    # webhook (counted in Redis by gunicorn, added to the database by the realtime worker).
    with pytest.raises(urllib.error.HTTPError) as refused:
        signed_webhook(
            f"{topology}/webhooks/shopify/", store, {"available": 1}, secret="not-the-secret"
        )
    assert refused.value.code == 401

    def rejected() -> float:
        return scrape(topology)[("stocklink_webhook_rejections", (("reason", "bad_signature"),))]

    wait_until(lambda: rejected() == 1, timeout=90, what="the rejection to reach /metrics")
    wait_until(
        lambda: not WebhookEvent.objects.filter(processed_at__isnull=True).exists(),
        timeout=60,
        what="every webhook event to be processed",
    )
    metrics = scrape(topology)
    done = QtyPush.objects.filter(state=PushState.DONE)
    assert done.filter(reason="stock_change").exists()
    assert metrics[("stocklink_pushes", (("outcome", "confirmed"),))] == done.count()
    assert metrics[("stocklink_pushes", (("outcome", "failed"),))] == 0
    assert metrics[("stocklink_convergence_lag_seconds_count", ())] == done.count()
    assert metrics[("stocklink_convergence_lag_seconds_sum", ())] > 0
    assert metrics[("stocklink_pending_pushes", ())] == 0
    for queue in ("webhooks", "pushes", "orders"):
        assert metrics[("stocklink_queue_lag_seconds", (("queue", queue),))] == 0, queue
    # The webhook's own latency histogram, added up over gunicorn's processes (multiprocess).
    assert metrics[("stocklink_webhook_request_seconds_count", (("status", "2xx"),))] >= 1
    assert metrics[("stocklink_webhook_request_seconds_count", (("status", "4xx"),))] >= 1
    clear_token_cache()
