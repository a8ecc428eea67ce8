"""A small in-process Amazon for unit tests of the send path: records calls, scripted answers."""

from dataclasses import dataclass, field

from sync.clients.amazon_data import AmazonIssue, AmazonListing, FeedStatus, PatchResult
from sync.clients.errors import NotFound, RateLimited
from sync.ratelimit import Limiter, Rate, TokenBucket


@dataclass
class FakeAmazon:
    """Listings by SKU: quantity Amazon shows. `answers` scripts the next patch answers per SKU:
    "ACCEPTED", "INVALID", "429", "404", or "LATE" (accepted, applied only on the second read)."""

    quantities: dict[str, int | None] = field(default_factory=dict)
    answers: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    late: dict[str, int] = field(default_factory=dict)
    feed_status: str = "DONE"
    feed_errors: dict[int, str] = field(default_factory=dict)
    feeds: list[list] = field(default_factory=list)

    def __call__(self, account, marketplace_id):  # the client factory
        return self

    def patch_quantity(self, sku, product_type, quantity):
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
