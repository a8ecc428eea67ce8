"""The Shopify Admin GraphQL client: the only app module that speaks to Shopify.

One `requests.Session` per client, timeouts on every call, cost-aware pacing from Shopify's
`throttleStatus` (one limiter per shop and process), bounded retries with exponential back-off
on THROTTLED, 429, 5xx and dropped connections, and the client-credentials token obtained and
refreshed before it expires. Vendor errors become `sync.clients.errors` exceptions.

Every query and mutation is a module-level constant (`DOCUMENTS` lists them) so a test can
validate all of them against Shopify's published schema.

Shopify ids are gids (`gid://shopify/InventoryItem/123`); the helpers here return the numbers as
Python ints (they can exceed 2**53, so never pass them through a float).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from .errors import AuthenticationFailed, MarketplaceError, NotFound, RateLimited, TransientError

logger = logging.getLogger(__name__)

API_VERSION = "2026-07"
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MAX_QUERY_COST = 1000  # Shopify refuses a single query above this


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- documents -------------------------------------------------------------------------------

SHOP_QUERY = """
query StocklinkShop {
  shop { id name myshopifyDomain }
}
"""

LOCATIONS_QUERY = """
query StocklinkLocations($after: String) {
  locations(first: 100, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive fulfillsOnlineOrders }
  }
}
"""

_VARIANT_FIELDS = """
      id
      sku
      title
      inventoryPolicy
      updatedAt
      product { id title }
      metafield(namespace: $namespace, key: $key) { value type }
      inventoryItem {
        id
        tracked
        inventoryLevels(first: $levels) {
          nodes {
            location { id }
            quantities(names: ["available"]) { name quantity }
          }
        }
      }
"""

VARIANTS_QUERY = (
    """
query StocklinkVariants(
  $first: Int!, $after: String, $query: String, $levels: Int!, $namespace: String!, $key: String!
) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {"""
    + _VARIANT_FIELDS
    + """    }
  }
}
"""
)

INVENTORY_ITEMS_QUERY = """
query StocklinkInventoryItems($first: Int!, $after: String, $query: String!, $levels: Int!) {
  inventoryItems(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      tracked
      inventoryLevels(first: $levels) {
        nodes {
          location { id }
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""

# Bulk queries take no variables: the metafield is written into the text (JSON-quoted).
VARIANTS_BULK_QUERY_TEMPLATE = """
{
  productVariants%(filter)s {
    edges {
      node {
        id
        sku
        title
        inventoryPolicy
        updatedAt
        product { id title }
        metafield(namespace: %(namespace)s, key: %(key)s) { value type }
        inventoryItem {
          id
          tracked
          inventoryLevels {
            edges {
              node {
                id
                location { id }
                quantities(names: ["available"]) { name quantity }
              }
            }
          }
        }
      }
    }
  }
}
"""

BULK_RUN_MUTATION = """
mutation StocklinkBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS_QUERY = """
query StocklinkBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url partialDataUrl }
}
"""

ADJUST_MUTATION = """
mutation StocklinkAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name delta quantityAfterChange }
    }
    userErrors { field message code }
  }
}
"""

SET_MUTATION = """
mutation StocklinkSet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name delta quantityAfterChange }
    }
    userErrors { field message code }
  }
}
"""

WEBHOOK_CREATE_MUTATION = """
mutation StocklinkWebhookCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

WEBHOOK_DELETE_MUTATION = """
mutation StocklinkWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""

WEBHOOKS_QUERY = """
query StocklinkWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""


def render_variants_bulk_query(
    *, namespace: str, key: str, updated_since: datetime | None = None
) -> str:
    """The bulk query behind `iter_variants(bulk=True)`."""
    search = f"updated_at:>'{_iso(updated_since)}'" if updated_since else ""
    return VARIANTS_BULK_QUERY_TEMPLATE % {
        "namespace": json.dumps(namespace),
        "key": json.dumps(key),
        "filter": f"(query: {json.dumps(search)})" if search else "",
    }


# Everything the client sends, for the schema-validation test.
DOCUMENTS = {
    "SHOP_QUERY": SHOP_QUERY,
    "LOCATIONS_QUERY": LOCATIONS_QUERY,
    "VARIANTS_QUERY": VARIANTS_QUERY,
    "INVENTORY_ITEMS_QUERY": INVENTORY_ITEMS_QUERY,
    "VARIANTS_BULK_QUERY": render_variants_bulk_query(namespace="stocklink", key="amazon_qty"),
    "VARIANTS_BULK_QUERY_SINCE": render_variants_bulk_query(
        namespace="stocklink", key="amazon_qty", updated_since=datetime(2026, 1, 1, tzinfo=UTC)
    ),
    "BULK_RUN_MUTATION": BULK_RUN_MUTATION,
    "BULK_STATUS_QUERY": BULK_STATUS_QUERY,
    "ADJUST_MUTATION": ADJUST_MUTATION,
    "SET_MUTATION": SET_MUTATION,
    "WEBHOOK_CREATE_MUTATION": WEBHOOK_CREATE_MUTATION,
    "WEBHOOK_DELETE_MUTATION": WEBHOOK_DELETE_MUTATION,
    "WEBHOOKS_QUERY": WEBHOOKS_QUERY,
}


# --- values ----------------------------------------------------------------------------------


class StaleQuantity(MarketplaceError):
    """`changeFromQuantity` did not match Shopify's current quantity: re-read, then retry
    with a new idempotency key."""


@dataclass(frozen=True)
class ShopifyConfig:
    """Where and how to reach one shop. `base_url` blank means the real Shopify."""

    shop_domain: str
    access_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_version: str = API_VERSION
    base_url: str = ""

    @property
    def root(self) -> str:
        return (self.base_url or f"https://{self.shop_domain}").rstrip("/")

    @property
    def graphql_url(self) -> str:
        return f"{self.root}/admin/api/{self.api_version}/graphql.json"

    @property
    def token_url(self) -> str:
        return f"{self.root}/admin/oauth/access_token"

    @property
    def uses_client_credentials(self) -> bool:
        return not self.access_token and bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class Location:
    id: int
    gid: str
    name: str
    is_active: bool
    fulfills_online_orders: bool = True


@dataclass(frozen=True)
class VariantStock:
    """A variant and its stock as Stocklink needs it (one row of `iter_variants`)."""

    id: int
    gid: str
    sku: str
    title: str
    product_id: int
    product_title: str
    inventory_item_id: int
    tracked: bool
    inventory_policy: str
    available: dict[int, int]  # location id → available (negative when oversold)
    metafield_value: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ItemStock:
    """One inventory item's stock, from a targeted re-read after a webhook."""

    inventory_item_id: int
    sku: str
    tracked: bool
    available: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Webhook:
    id: int
    gid: str
    topic: str  # GraphQL enum, e.g. INVENTORY_LEVELS_UPDATE
    uri: str


def gid_number(gid: str) -> int:
    """`gid://shopify/InventoryLevel/123?inventory_item_id=4` → 123, as an exact int."""
    return int(gid.rsplit("/", 1)[-1].split("?", 1)[0])


def to_gid(type_name: str, number: int | str) -> str:
    if isinstance(number, str) and number.startswith("gid://"):
        return number
    return f"gid://shopify/{type_name}/{int(number)}"


def topic_enum(topic: str) -> str:
    """`inventory_levels/update` → `INVENTORY_LEVELS_UPDATE` (enums pass through)."""
    return topic.replace("/", "_").upper()


def verify_webhook(secret: str, raw_body: bytes, hmac_header: str) -> bool:
    """Shopify's webhook check: base64(HMAC-SHA256(secret, raw body)) equals the header.

    Call it on the raw request body, before parsing JSON; the comparison is constant-time.
    """
    if not secret or not hmac_header:
        return False
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may hold any.
    given = hmac_header.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)


# --- pacing ----------------------------------------------------------------------------------


class CostLimiter:
    """What we know of one shop's leaky bucket, so requests wait instead of being throttled."""

    def __init__(self):
        self._lock = threading.Lock()
        self.maximum: float | None = None
        self.available: float = 0.0
        self.restore_rate: float = 0.0
        self._at = 0.0

    def _now_available(self, now: float) -> float:
        return min(self.maximum or 0.0, self.available + (now - self._at) * self.restore_rate)

    def reserve(self, cost: int) -> float:
        """Seconds to wait before sending a request of `cost`; the points are set aside."""
        with self._lock:
            if self.maximum is None or not self.restore_rate:
                return 0.0
            now = time.monotonic()
            available = self._now_available(now)
            wait = max(0.0, (cost - available) / self.restore_rate)
            # Book the points now, so concurrent threads of this process queue behind us.
            self.available = available - cost
            self._at = now
            return wait

    def update(self, status: dict) -> None:
        with self._lock:
            self.maximum = float(status["maximumAvailable"])
            self.available = float(status["currentlyAvailable"])
            self.restore_rate = float(status["restoreRate"])
            self._at = time.monotonic()


_limiters: dict[str, CostLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(shop_domain: str) -> CostLimiter:
    """The process-wide limiter of one shop (every client of that shop shares it)."""
    with _limiters_lock:
        return _limiters.setdefault(shop_domain, CostLimiter())


# --- client ----------------------------------------------------------------------------------


class ShopifyClient:
    """Admin GraphQL for one shop. Not thread-safe: one client per thread or task.

    `token`/`token_expires_at` start from a client-credentials token the caller kept;
    `on_token(token, expires_at)` is called whenever a new one is obtained, to keep it.
    """

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        token: str | None = None,
        token_expires_at: datetime | None = None,
        on_token: Callable[[str, datetime], None] | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self._token = token
        self._token_expires_at = token_expires_at
        self._on_token = on_token
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.limiter = limiter_for(config.shop_domain)
        self._costs: dict[str, int] = {}  # query text → last requested cost
        self.last_cost: dict | None = None
        self.throttled = 0  # THROTTLED answers this client received

    def close(self) -> None:
        self.session.close()

    # -- auth --

    def access_token(self) -> str:
        """The token to send: the static one, or a client-credentials one (fetched if due)."""
        if self.config.access_token:
            return self.config.access_token
        if not self.config.uses_client_credentials:
            raise AuthenticationFailed("No Shopify access token or client credentials configured")
        due = self._token_expires_at is None or (
            self._token_expires_at - datetime.now(UTC) < TOKEN_REFRESH_MARGIN
        )
        if not self._token or due:
            self.refresh_token()
        return self._token

    def refresh_token(self) -> str:
        """Obtain a new token with the client-credentials grant (24 hours on Shopify)."""
        data = {
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "grant_type": "client_credentials",
        }
        try:
            response = self.session.post(self.config.token_url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TransientError(f"Shopify token request failed: {exc}") from exc
        if response.status_code >= 500:
            raise TransientError(
                f"Shopify token endpoint answered {response.status_code}",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise AuthenticationFailed(
                f"Shopify refused the client credentials: {response.text[:200]}",
                status=response.status_code,
            )
        body = response.json()
        self._token = body["access_token"]
        self._token_expires_at = datetime.now(UTC) + timedelta(seconds=int(body["expires_in"]))
        if self._on_token is not None:
            self._on_token(self._token, self._token_expires_at)
        return self._token

    # -- transport --

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * (0.5 + random.random() / 2)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """Run one query or mutation; return its `data`. Retries what can be retried."""
        refreshed = False
        attempt = 0
        while True:
            estimate = self._costs.get(query)
            if estimate:
                wait = self.limiter.reserve(estimate)
                if wait > 0:
                    self._sleep(wait)
            try:
                response = self.session.post(
                    self.config.graphql_url,
                    json={"query": query, "variables": variables or {}},
                    headers={
                        "X-Shopify-Access-Token": self.access_token(),
                        "Accept": "application/json",
                    },
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.max_retries:
                    raise TransientError(f"Shopify unreachable: {exc}") from exc
                self._sleep(self._delay(attempt))
                attempt += 1
                continue

            status = response.status_code
            if status == 401:
                if self.config.uses_client_credentials and not refreshed:
                    refreshed = True  # the token was revoked or expired early: one new one
                    self.refresh_token()
                    continue
                raise AuthenticationFailed("Shopify refused the access token", status=401)
            if status == 403:
                raise AuthenticationFailed(
                    f"Shopify denied access (scopes?): {response.text[:200]}", status=403
                )
            if status == 404:
                raise NotFound(f"Shop {self.config.shop_domain} not found", status=404)
            if status == 429 or status >= 500:
                retry_after = _retry_after(response) or self._delay(attempt)
                if attempt >= self.max_retries:
                    error = RateLimited if status == 429 else TransientError
                    raise error(
                        f"Shopify answered {status}", retry_after=retry_after, status=status
                    )
                self._sleep(retry_after)
                attempt += 1
                continue
            if status != 200:
                raise MarketplaceError(
                    f"Shopify answered {status}: {response.text[:200]}", status=status
                )

            body = response.json()
            cost = (body.get("extensions") or {}).get("cost")
            if cost:
                self.last_cost = cost
                if cost.get("requestedQueryCost"):
                    self._costs[query] = int(cost["requestedQueryCost"])
                if cost.get("throttleStatus"):
                    self.limiter.update(cost["throttleStatus"])
            errors = body.get("errors")
            if errors:
                codes = [(e.get("extensions") or {}).get("code") for e in errors]
                if "THROTTLED" in codes:
                    self.throttled += 1
                    wait = _throttle_wait(cost) or self._delay(attempt)
                    if attempt >= self.max_retries:
                        raise RateLimited("Shopify throttled the query", retry_after=wait)
                    self._sleep(wait)
                    attempt += 1
                    continue
                if "INTERNAL_SERVER_ERROR" in codes and attempt < self.max_retries:
                    self._sleep(self._delay(attempt))
                    attempt += 1
                    continue
                message = "; ".join(str(e.get("message")) for e in errors)
                raise MarketplaceError(f"Shopify GraphQL error: {message}", code=codes[0] or "")
            return body.get("data") or {}

    # -- generic helpers --

    def paginate(
        self, query: str, path: str | Iterable[str], variables: dict | None = None
    ) -> Iterator[dict]:
        """Every node of the connection at `path` (e.g. "productVariants"), page after page.

        The query takes `$after: String` and selects `pageInfo { hasNextPage endCursor }` and
        `nodes` on that connection.
        """
        keys = path.split(".") if isinstance(path, str) else list(path)
        variables = dict(variables or {})
        variables["after"] = None
        while True:
            data = self.execute(query, variables)
            connection = data
            for key in keys:
                connection = (connection or {}).get(key)
            if not connection:
                return
            yield from connection.get("nodes") or [e["node"] for e in connection.get("edges", [])]
            page_info = connection["pageInfo"]
            if not page_info["hasNextPage"]:
                return
            variables["after"] = page_info["endCursor"]

    def run_bulk_query(
        self, query: str, *, poll_interval: float = 1.0, timeout: float = 3600.0
    ) -> Iterator[dict]:
        """Start a bulk query, wait for it, and yield the rows of its JSONL result.

        Rows of nested connections carry `__parentId`; they may come before or after their
        parent (Shopify does not group them from 2026-01).
        """
        data = self.execute(BULK_RUN_MUTATION, {"query": query})
        payload = data["bulkOperationRunQuery"]
        if payload["userErrors"]:
            raise MarketplaceError(
                f"Bulk query refused: {payload['userErrors'][0]['message']}",
                code=payload["userErrors"][0].get("code") or "",
            )
        operation_id = payload["bulkOperation"]["id"]
        deadline = time.monotonic() + timeout
        interval = poll_interval
        while True:
            operation = self.execute(BULK_STATUS_QUERY, {"id": operation_id})["bulkOperation"]
            status = operation["status"]
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                raise MarketplaceError(
                    f"Bulk operation {status.lower()}: {operation.get('errorCode')}",
                    code=operation.get("errorCode") or status,
                )
            if time.monotonic() > deadline:
                raise TransientError(f"Bulk operation {operation_id} still {status}")
            self._sleep(interval)
            interval = min(interval * 1.5, 10.0)
        if not operation.get("url"):
            return  # nothing matched
        try:
            with self.session.get(operation["url"], stream=True, timeout=self.timeout) as resp:
                if resp.status_code != 200:
                    raise TransientError(
                        f"Bulk result download answered {resp.status_code}",
                        status=resp.status_code,
                    )
                for line in resp.iter_lines():
                    if line:
                        yield json.loads(line)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"Bulk result download failed: {exc}") from exc

    # -- what the sync engine uses --

    def test_connection(self) -> dict:
        """Check credentials and reachability: {"name", "domain"} of the shop."""
        shop = self.execute(SHOP_QUERY)["shop"]
        return {"name": shop["name"], "domain": shop["myshopifyDomain"]}

    def locations(self) -> list[Location]:
        """All locations, active or not."""
        return [
            Location(
                id=gid_number(node["id"]),
                gid=node["id"],
                name=node["name"],
                is_active=node["isActive"],
                fulfills_online_orders=node.get("fulfillsOnlineOrders", True),
            )
            for node in self.paginate(LOCATIONS_QUERY, "locations")
        ]

    def iter_variants(
        self,
        *,
        metafield: tuple[str, str] = ("stocklink", "amazon_qty"),
        updated_since: datetime | None = None,
        max_locations: int = 10,
        bulk: bool = False,
    ) -> Iterator[VariantStock]:
        """Every variant with its stock per location and one metafield's value.

        `updated_since` (aware) reads only variants changed after it. `max_locations` is how
        many inventory levels to read per variant (the page size is set so a page stays under
        Shopify's cost limit). `bulk=True` reads the catalogue with a bulk operation instead,
        for large shops (no cost limit; rows arrive when the operation completes).
        """
        namespace, key = metafield
        if bulk:
            yield from self._iter_variants_bulk(namespace, key, updated_since)
            return
        levels = max(1, min(max_locations, 250))
        # Per variant: ~5 objects + a level connection of `levels` × ~3 objects.
        page_size = max(1, min(250, (MAX_QUERY_COST - 50) // (8 + 3 * levels)))
        variables = {
            "first": page_size,
            "levels": levels,
            "namespace": namespace,
            "key": key,
            "query": f"updated_at:>'{_iso(updated_since)}'" if updated_since else None,
        }
        for node in self.paginate(VARIANTS_QUERY, "productVariants", variables):
            yield _variant_stock(node, _levels_of(node["inventoryItem"]["inventoryLevels"]))

    def _iter_variants_bulk(self, namespace, key, updated_since) -> Iterator[VariantStock]:
        query = render_variants_bulk_query(
            namespace=namespace, key=key, updated_since=updated_since
        )
        variants: dict[str, dict] = {}
        levels: dict[str, list[dict]] = {}
        for row in self.run_bulk_query(query):
            parent = row.get("__parentId")
            if parent is None:
                variants[row["id"]] = row
            else:
                levels.setdefault(parent, []).append(row)
        for gid, node in variants.items():
            yield _variant_stock(node, _levels_of({"nodes": levels.get(gid, [])}))

    def inventory_levels_for_items(
        self, item_ids: Iterable[int], *, max_locations: int = 10
    ) -> dict[int, ItemStock]:
        """Current stock of these inventory items (a targeted re-read after webhooks)."""
        ids = sorted({int(i) for i in item_ids})
        levels = max(1, min(max_locations, 250))
        batch = max(1, min(100, (MAX_QUERY_COST - 50) // (5 + 3 * levels)))
        result: dict[int, ItemStock] = {}
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            variables = {
                "first": len(chunk),
                "levels": levels,
                "query": " OR ".join(f"id:{i}" for i in chunk),
            }
            for node in self.paginate(INVENTORY_ITEMS_QUERY, "inventoryItems", variables):
                item_id = gid_number(node["id"])
                result[item_id] = ItemStock(
                    inventory_item_id=item_id,
                    sku=node.get("sku") or "",
                    tracked=node["tracked"],
                    available=_levels_of(node["inventoryLevels"]),
                )
        return result

    def adjust_available(
        self,
        item_id: int,
        location_id: int,
        delta: int,
        *,
        change_from: int | None,
        idempotency_key: str,
        reference_uri: str,
        reason: str = "correction",
    ) -> int:
        """Add `delta` to `available`; returns the quantity after the change.

        `change_from` is the quantity we believe Shopify has (None opts out of the check);
        a mismatch raises StaleQuantity. Reuse `idempotency_key` when retrying the same
        change: Shopify applies it once.
        """
        data = self.execute(
            ADJUST_MUTATION,
            {
                "key": idempotency_key,
                "input": {
                    "name": "available",
                    "reason": reason,
                    "referenceDocumentUri": reference_uri,
                    "changes": [
                        {
                            "inventoryItemId": to_gid("InventoryItem", item_id),
                            "locationId": to_gid("Location", location_id),
                            "delta": int(delta),
                            "changeFromQuantity": change_from,
                        }
                    ],
                },
            },
        )
        return _quantity_after(data["inventoryAdjustQuantities"])

    def set_available(
        self,
        item_id: int,
        location_id: int,
        quantity: int,
        *,
        change_from: int | None,
        idempotency_key: str,
        reference_uri: str,
        reason: str = "correction",
    ) -> int:
        """Set `available` to `quantity` (only when Stocklink is the source of truth)."""
        data = self.execute(
            SET_MUTATION,
            {
                "key": idempotency_key,
                "input": {
                    "name": "available",
                    "reason": reason,
                    "referenceDocumentUri": reference_uri,
                    "quantities": [
                        {
                            "inventoryItemId": to_gid("InventoryItem", item_id),
                            "locationId": to_gid("Location", location_id),
                            "quantity": int(quantity),
                            "changeFromQuantity": change_from,
                        }
                    ],
                },
            },
        )
        return _quantity_after(data["inventorySetQuantities"])

    def create_webhook(self, topic: str, callback_url: str) -> Webhook:
        """Subscribe `callback_url` to `topic` ("inventory_levels/update" or the enum)."""
        data = self.execute(
            WEBHOOK_CREATE_MUTATION, {"topic": topic_enum(topic), "uri": callback_url}
        )["webhookSubscriptionCreate"]
        if data["userErrors"]:
            raise MarketplaceError(
                f"Webhook subscription refused: {data['userErrors'][0]['message']}"
            )
        return _webhook(data["webhookSubscription"])

    def delete_webhook(self, webhook_id: int | str) -> None:
        data = self.execute(
            WEBHOOK_DELETE_MUTATION, {"id": to_gid("WebhookSubscription", webhook_id)}
        )["webhookSubscriptionDelete"]
        if data["userErrors"]:
            raise NotFound(f"Webhook subscription not deleted: {data['userErrors'][0]['message']}")

    def webhooks(self) -> list[Webhook]:
        return [_webhook(node) for node in self.paginate(WEBHOOKS_QUERY, "webhookSubscriptions")]


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _throttle_wait(cost: dict | None) -> float | None:
    if not cost or not cost.get("throttleStatus"):
        return None
    status = cost["throttleStatus"]
    needed = float(cost.get("requestedQueryCost") or 0) - float(status["currentlyAvailable"])
    rate = float(status["restoreRate"]) or 1.0
    return max(0.05, needed / rate)


def _levels_of(connection: dict) -> dict[int, int]:
    available: dict[int, int] = {}
    for level in connection.get("nodes") or []:
        for quantity in level.get("quantities") or []:
            if quantity["name"] == "available":
                available[gid_number(level["location"]["id"])] = int(quantity["quantity"])
    return available


def _variant_stock(node: dict, available: dict[int, int]) -> VariantStock:
    item = node["inventoryItem"]
    metafield = node.get("metafield")
    return VariantStock(
        id=gid_number(node["id"]),
        gid=node["id"],
        sku=node.get("sku") or "",
        title=node.get("title") or "",
        product_id=gid_number(node["product"]["id"]),
        product_title=node["product"]["title"],
        inventory_item_id=gid_number(item["id"]),
        tracked=item["tracked"],
        inventory_policy=node["inventoryPolicy"],
        available=available,
        metafield_value=metafield["value"] if metafield else None,
        updated_at=_parse_time(node.get("updatedAt")),
    )


def _quantity_after(payload: dict) -> int:
    errors = payload["userErrors"]
    if errors:
        first = errors[0]
        code = first.get("code") or ""
        error = StaleQuantity if code == "CHANGE_FROM_QUANTITY_STALE" else MarketplaceError
        raise error(f"Shopify refused the inventory change: {first['message']}", code=code)
    for change in payload["inventoryAdjustmentGroup"]["changes"]:
        if change["name"] == "available":
            return int(change["quantityAfterChange"])
    raise MarketplaceError("Shopify's answer has no available quantity change")


def _webhook(node: dict) -> Webhook:
    return Webhook(id=gid_number(node["id"]), gid=node["id"], topic=node["topic"], uri=node["uri"])
