"""The in-process vendors of the unit tests, all in one place: hand them to the services with
`sync.clients.factory.substitute(amazon=..., shopify=...)`. Every behaviour that crosses the
wire is also proven over HTTP against the sandbox with the real clients."""

from dataclasses import dataclass, field

from django.utils import timezone

from sync.clients.amazon_data import AmazonIssue, AmazonListing, FeedStatus, PatchResult
from sync.clients.amazon_data import AmazonOrder as RemoteOrder
from sync.clients.amazon_data import AmazonOrderItem as RemoteItem
from sync.clients.errors import AuthenticationFailed, NotFound, RateLimited, TransientError
from sync.clients.shopify_data import ItemStock, StaleQuantity
from sync.ratelimit import Limiter, Rate, TokenBucket


@dataclass
class FakeAmazon:
    """Listings by SKU: quantity Amazon shows. `answers` scripts the next patch answers per SKU:
    "ACCEPTED", "INVALID", "429", "404", or "LATE" (accepted, applied only on the second read).

    `down` answers every patch with a 503, `refuse` with refused credentials; `orders` is what
    searchOrders returns (`sell` adds an MFN sale and lowers the quantity, as Amazon does)."""

    quantities: dict[str, int | None] = field(default_factory=dict)
    answers: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    late: dict[str, int] = field(default_factory=dict)
    feed_status: str = "DONE"
    feed_errors: dict[int, str] = field(default_factory=dict)
    feeds: list[list] = field(default_factory=list)
    orders: list[RemoteOrder] = field(default_factory=list)
    windows: list = field(default_factory=list)
    down: bool = False
    refuse: bool = False

    def __call__(self, account, marketplace_id):  # the client factory
        return self

    def search_orders(self, last_updated_after, fulfilled_by=None, **kwargs):
        self.windows.append(last_updated_after)
        return [o for o in self.orders if o.last_updated_time >= last_updated_after]

    def sell(self, listing, quantity=1, order_id="111-0000001-0000001"):
        """An MFN sale on Amazon: its quantity goes down, the order appears in searchOrders."""
        self.quantities[listing.sku] -= quantity
        now = timezone.now()
        self.orders.append(
            RemoteOrder(
                order_id=order_id,
                created_time=now,
                last_updated_time=now,
                marketplace_id=listing.marketplace_id,
                fulfilled_by="MERCHANT",
                fulfillment_status="UNSHIPPED",
                items=(RemoteItem(f"{order_id}-1", listing.sku, "B000000001", quantity),),
            )
        )

    def close(self):
        pass

    def patch_quantity(self, sku, product_type, quantity):
        if self.refuse:
            self.calls.append(("patch", sku, quantity))
            raise AuthenticationFailed("invalid_grant: the refresh token is not valid", status=400)
        if self.down:
            self.calls.append(("patch", sku, quantity))
            raise TransientError("503 Service Unavailable", status=503)
        self.calls.append(("patch", sku, quantity))
        script = self.answers.get(sku) or []
        answer = script.pop(0) if script else "ACCEPTED"
        if answer == "429":
            raise RateLimited("throttled", retry_after=2.0, status=429)
        if answer == "404" or sku not in self.quantities:
            raise NotFound(f"SKU {sku} not found", status=404)
        if answer == "INVALID":
            return PatchResult(
                "INVALID",
                "sub-1",
                (AmazonIssue("90000900", "The value of quantity is invalid", "ERROR"),),
            )
        if answer == "LATE":
            self.late[sku] = quantity
        else:
            self.quantities[sku] = quantity
        return PatchResult("ACCEPTED", f"sub-{len(self.calls)}")

    def get_listing(self, sku):
        self.calls.append(("get", sku))
        if sku not in self.quantities:
            raise NotFound("gone", status=404)
        quantity = self.quantities[sku]
        if sku in self.late:  # applied after this read
            self.quantities[sku] = self.late.pop(sku)
        return AmazonListing(sku, "B000", "PRODUCT", ("BUYABLE",), ("DEFAULT",), quantity)

    def submit_quantity_feed(self, items):
        items = list(items)
        self.calls.append(("feed", len(items)))
        self.feeds.append(items)
        return f"FEED{len(self.feeds)}"

    def get_feed(self, feed_id):
        self.calls.append(("get_feed", feed_id))
        if self.feed_status == "DONE":
            items = self.feeds[int(feed_id[4:]) - 1]
            for message_id, (sku, _, quantity) in enumerate(items, start=1):
                if message_id not in self.feed_errors:
                    self.quantities[sku] = quantity
            return FeedStatus("DONE", f"DOC-{feed_id}")
        return FeedStatus(self.feed_status, None)

    def get_feed_report(self, doc_id):
        self.calls.append(("report", doc_id))
        return {
            "header": {"sellerId": "A1", "version": "2.0"},
            "issues": [
                {"messageId": mid, "sku": "?", "code": "8541", "severity": "ERROR", "message": m}
                for mid, m in self.feed_errors.items()
            ],
            "summary": {},
        }

    def amazon_calls(self, kind=None):
        return [c for c in self.calls if kind is None or c[0] == kind]


class FreeBucket(TokenBucket):
    """Never waits: for unit tests that are not about pacing."""

    def reserve(self, key, rate: Rate, *, max_wait: float) -> float:
        return 0.0

    def reset(self, key):
        pass


def free_limiter(account) -> Limiter:
    return Limiter(seller_id=account.seller_id, region=account.region, bucket=FreeBucket())


class FakeShopify:
    """Admin GraphQL in memory.

    Reads: `stock` (inventory item id → ItemStock) answers `inventory_levels_for_items`; or,
    given `levels` ((item id, location id) → available), the levels do, and
    `adjust_available` applies inventoryAdjustQuantities with `@idempotent` replays and
    `changeFromQuantity`. `locations` and the webhooks created are kept too.
    """

    def __init__(self, stock=None, locations=None, levels=None):
        self.stock = stock or {}
        self.locations_list = locations or []
        self.levels = dict(levels or {})
        self.reads: list = []
        self.created: list = []
        self.seen: dict[str, int] = {}
        self.calls = 0

    def inventory_levels_for_items(self, item_ids, *, max_locations=10):
        self.reads.append(sorted(item_ids))
        if self.levels:
            return {
                i: ItemStock(
                    i, "", True, {loc: q for (it, loc), q in self.levels.items() if it == i}
                )
                for i in item_ids
            }
        return {i: self.stock[i] for i in item_ids if i in self.stock}

    def adjust_available(self, item, location, delta, *, change_from, idempotency_key, **kw):
        self.calls += 1
        if idempotency_key in self.seen:
            return self.seen[idempotency_key]
        if change_from is not None and change_from != self.levels[(item, location)]:
            raise StaleQuantity("stale", code="CHANGE_FROM_QUANTITY_STALE")
        self.levels[(item, location)] += delta
        self.seen[idempotency_key] = self.levels[(item, location)]
        return self.levels[(item, location)]

    def locations(self):
        return self.locations_list

    def webhooks(self):
        return []

    def create_webhook(self, topic, uri):
        self.created.append((topic, uri))

    def close(self):
        pass
