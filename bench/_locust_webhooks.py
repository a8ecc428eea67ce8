"""Locust user for bench/webhook_load.py: signed Shopify webhooks, each a new event.

The body is signed once (the HMAC covers the body only); every request carries a fresh
X-Shopify-Event-Id, so each one is verified, inserted and queued: the view's whole real path.
"""

import base64
import hashlib
import hmac
import json
import os
import uuid

from locust import FastHttpUser, task

SECRET = os.environ["BENCH_WEBHOOK_SECRET"]
DOMAIN = os.environ["BENCH_SHOP_DOMAIN"]
BODY = json.dumps(
    {"inventory_item_id": 424242, "location_id": 1, "available": 7, "updated_at": "now"}
).encode()
SIGNATURE = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()


class ShopifyWebhooks(FastHttpUser):
    # No wait: each user sends its next webhook as soon as the last is answered (closed loop).

    @task
    def inventory_level_update(self):
        self.client.post(
            "/webhooks/shopify/",
            data=BODY,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": "inventory_levels/update",
                "X-Shopify-Shop-Domain": DOMAIN,
                "X-Shopify-Event-Id": uuid.uuid4().hex,
                "X-Shopify-Hmac-Sha256": SIGNATURE,
            },
            name="/webhooks/shopify/",
        )
