"""The production topology as `make serve-prod` starts it: gunicorn, two Celery workers on their
queues (realtime: webhooks, pushes; batch: orders, jobs) and beat, on PostgreSQL and Redis.

Settings are config.settings.staging (production's, with the sandbox allowed), so the whole
story runs over real HTTP through gunicorn: the sandbox's Shopify and Amazon are served by it,
the sandbox's webhook delivery (a task on the batch worker) posts to it, and the realtime worker
re-reads, recomputes and pushes through it.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import InventoryLevel
from profiles.models import default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.shopify.services import level_for, set_available
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.webhooks import webhooks_subscribe
from sync.linking import selling_list_link_by_sku
from sync.models import PushState, QtyPush, WebhookEvent
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


def signed_webhook(url: str, store, payload: dict) -> tuple[int, dict, bytes]:
    body = json.dumps(payload).encode()
    digest = hmac.new(store.webhook_secret.encode(), body, hashlib.sha256).digest()
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


def test_gunicorn_workers_and_beat_serve_health_webhooks_and_a_stock_change_reaches_amazon(
    topology, settings
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
    clear_token_cache()
