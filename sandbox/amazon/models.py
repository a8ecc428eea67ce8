"""State of the simulated Amazon: sellers, listings, documents, feeds, reports, orders, limits.

Everything a real SP-API answer depends on lives here, so a demo is a story in the admin and
tests can assert on what "Amazon" now holds.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Sum
from django.utils import timezone

FBM_CHANNEL = "DEFAULT"
# Amazon's fulfilment-network channel codes (reference §1: NA, EU and JP networks).
FBA_CHANNELS = ("AMAZON_NA", "AMAZON_EU", "AMAZON_JP")


class Seller(models.Model):
    """One selling partner with the LWA credentials a client needs to call the sandbox."""

    seller_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, blank=True)
    # Shown in clear in the admin on purpose: this is a sandbox, not a vault.
    client_id = models.CharField("LWA client id", max_length=100)
    client_secret = models.CharField("LWA client secret", max_length=100)
    refresh_token = models.CharField(max_length=200, unique=True)
    marketplace_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seller_id"]

    def __str__(self) -> str:
        return self.name or self.seller_id


class AccessToken(models.Model):
    """A one-hour LWA access token issued for a seller's refresh token."""

    token = models.CharField(max_length=200, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="access_tokens")
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.token[:12]}… ({self.seller.seller_id})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Listing(models.Model):
    """One SKU of a seller in one marketplace, as Amazon holds it.

    ``quantity`` is what Amazon shows for the listing's own channel (the FBM DEFAULT quantity,
    or the units in Amazon's warehouse for an FBA SKU). ``attributes`` is what was submitted,
    in the Listings Items attribute format; ``pending_attributes`` waits for ``apply_after``
    when the "apply delay" knob is on, because ACCEPTED is not applied.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="listings")
    sku = models.CharField(max_length=200)
    marketplace_id = models.CharField(max_length=20, default="ATVPDKIKX0DER")
    asin = models.CharField(max_length=10)
    listing_id = models.CharField(max_length=20, blank=True)
    product_type = models.CharField(max_length=100, default="PRODUCT")
    item_name = models.CharField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=19.99)
    fulfillment_channel_code = models.CharField(
        max_length=20,
        default=FBM_CHANNEL,
        help_text="DEFAULT for merchant-fulfilled (FBM), AMAZON_NA/EU/JP for FBA.",
    )
    quantity = models.PositiveIntegerField(
        "quantity Amazon shows", default=0, help_text="For the listing's own channel."
    )
    attributes = models.JSONField(default=dict, blank=True)
    issues = models.JSONField(default=list, blank=True)
    pending_attributes = models.JSONField(null=True, blank=True)
    apply_after = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seller", "sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "marketplace_id", "sku"], name="sandbox_amazon_listing_unique_sku"
            )
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def is_fba(self) -> bool:
        return self.fulfillment_channel_code != FBM_CHANNEL

    def fulfillment_availability(self) -> list[dict]:
        """Amazon's view (``fulfillmentAvailability``), which may differ from the attributes."""
        entries = [
            {"fulfillmentChannelCode": self.fulfillment_channel_code, "quantity": self.quantity}
        ]
        if self.is_fba:
            # Patching DEFAULT onto an FBA SKU adds a second offer beside the AFN one.
            for entry in self.attributes.get("fulfillment_availability", []):
                if entry.get("fulfillment_channel_code") == FBM_CHANNEL:
                    entries.append(
                        {
                            "fulfillmentChannelCode": FBM_CHANNEL,
                            "quantity": entry.get("quantity", 0),
                        }
                    )
        return entries

    def statuses(self) -> list[str]:
        """BUYABLE needs something to sell; a listing at quantity 0 stays DISCOVERABLE only."""
        if any(entry["quantity"] > 0 for entry in self.fulfillment_availability()):
            return ["BUYABLE", "DISCOVERABLE"]
        return ["DISCOVERABLE"]

    def set_amazon_quantity(self, quantity: int) -> None:
        """Set the quantity Amazon shows and keep the submitted FBM attribute in step."""
        self.quantity = max(quantity, 0)
        if not self.is_fba:
            for entry in self.attributes.get("fulfillment_availability", []):
                if entry.get("fulfillment_channel_code") == FBM_CHANNEL:
                    entry["quantity"] = self.quantity
        self.updated_at = timezone.now()


class SandboxSettings(models.Model):
    """Fault knobs of the simulated Amazon (one row, edited in the admin)."""

    fault_429_share = models.FloatField(
        "share of random 429 answers", default=0.0, help_text="0 to 1, e.g. 0.05 for 5%."
    )
    fault_5xx_share = models.FloatField(
        "share of random 5xx answers", default=0.0, help_text="0 to 1; answered 500 or 503."
    )
    feed_processing_delay_seconds = models.FloatField(
        default=0.0,
        help_text="Time a feed spends IN_QUEUE then IN_PROGRESS before DONE/FATAL (0 = at once).",
    )
    apply_delay_seconds = models.FloatField(
        default=0.0,
        help_text="Time between ACCEPTED and the change showing in GET (0 = at once).",
    )
    rate_limits_enabled = models.BooleanField(
        default=True, help_text="Switch off for huge benchmarks; Amazon itself never does."
    )

    class Meta:
        verbose_name = "fault knobs"
        verbose_name_plural = "fault knobs"

    def __str__(self) -> str:
        return "Fault knobs"

    @classmethod
    def load(cls) -> SandboxSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class RateBucket(models.Model):
    """A token bucket per seller and operation, shared by every process through the database."""

    seller_id = models.CharField(max_length=32)
    operation = models.CharField(max_length=64)
    tokens = models.FloatField()
    refilled_at = models.FloatField(help_text="Unix time of the last refill.")
    throttled_count = models.PositiveIntegerField(
        default=0, help_text="Requests answered 429 because the bucket was empty."
    )
    injected_429_count = models.PositiveIntegerField(
        default=0, help_text="Random 429s from the fault knob (not the caller's fault)."
    )
    injected_5xx_count = models.PositiveIntegerField(
        default=0, help_text="Random 500/503 answers from the fault knob (an outage)."
    )
    requests_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["seller_id", "operation"]
        verbose_name = "throttle counter"
        constraints = [
            models.UniqueConstraint(
                fields=["seller_id", "operation"], name="sandbox_amazon_bucket_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} · {self.operation}"


def throttled_count(seller_id: str | None = None, operation: str | None = None) -> int:
    """How many requests exceeded the published rate limits (429 QuotaExceeded).

    Random 429s from the fault knob are not counted: tests use this to prove the app never
    causes a throttle by itself.
    """
    qs = RateBucket.objects.all()
    if seller_id is not None:
        qs = qs.filter(seller_id=seller_id)
    if operation is not None:
        qs = qs.filter(operation=operation)
    return qs.aggregate(total=Sum("throttled_count"))["total"] or 0


def injected_5xx_count(seller_id: str | None = None, operation: str | None = None) -> int:
    """How many requests the fault knob answered 500 or 503: what reached Amazon while it was
    down (tests count the probes of an outage with it)."""
    qs = RateBucket.objects.all()
    if seller_id is not None:
        qs = qs.filter(seller_id=seller_id)
    if operation is not None:
        qs = qs.filter(operation=operation)
    return qs.aggregate(total=Sum("injected_5xx_count"))["total"] or 0


class Document(models.Model):
    """A feed or report document, reachable through its (pre-signed style) URL."""

    class Kind(models.TextChoices):
        FEED_INPUT = "FEED_INPUT", "feed input"
        FEED_RESULT = "FEED_RESULT", "feed processing report"
        REPORT = "REPORT", "report"

    document_id = models.CharField(max_length=100, unique=True)
    # The secret part of the URL: like an S3 pre-signed URL, it needs no access token.
    url_key = models.CharField(max_length=64, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    content_type = models.CharField(max_length=200)
    content = models.BinaryField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.document_id

    @classmethod
    def new_id(cls, kind: str) -> str:
        # Amazon's ids look like amzn1.tortuga.4.na.<uuid> (feeds) and amzn1.spdoc.1.4.na.<uuid>.
        prefix = "amzn1.spdoc.1.4.na." if kind == cls.Kind.REPORT else "amzn1.tortuga.4.na."
        return f"{prefix}{uuid.uuid4()}.T{secrets.token_hex(6).upper()}"


class Feed(models.Model):
    class Status(models.TextChoices):
        IN_QUEUE = "IN_QUEUE"
        IN_PROGRESS = "IN_PROGRESS"
        DONE = "DONE"
        FATAL = "FATAL"
        CANCELLED = "CANCELLED"

    feed_id = models.CharField(max_length=32, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="feeds")
    feed_type = models.CharField(max_length=100)
    marketplace_ids = models.JSONField(default=list)
    input_document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    result_document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processing_status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.IN_QUEUE
    )
    created_at = models.DateTimeField(default=timezone.now)
    processing_start_time = models.DateTimeField(null=True, blank=True)
    processing_end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.feed_type} {self.feed_id}"


class Report(models.Model):
    class Status(models.TextChoices):
        IN_QUEUE = "IN_QUEUE"
        IN_PROGRESS = "IN_PROGRESS"
        DONE = "DONE"
        FATAL = "FATAL"
        CANCELLED = "CANCELLED"

    report_id = models.CharField(max_length=32, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="reports")
    report_type = models.CharField(max_length=100)
    marketplace_ids = models.JSONField(default=list)
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processing_status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.IN_QUEUE
    )
    created_at = models.DateTimeField(default=timezone.now)
    processing_start_time = models.DateTimeField(null=True, blank=True)
    processing_end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.report_type} {self.report_id}"


class Order(models.Model):
    """An Amazon order as searchOrders (Orders API 2026-01-01) returns it."""

    class FulfilledBy(models.TextChoices):
        MERCHANT = "MERCHANT", "Merchant (MFN)"
        AMAZON = "AMAZON", "Amazon (AFN)"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        UNSHIPPED = "UNSHIPPED"
        PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
        SHIPPED = "SHIPPED"
        CANCELLED = "CANCELLED"
        UNFULFILLABLE = "UNFULFILLABLE"

    order_id = models.CharField(max_length=19, unique=True)
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="orders")
    marketplace_id = models.CharField(max_length=20)
    fulfilled_by = models.CharField(max_length=10, choices=FulfilledBy.choices)
    fulfillment_status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNSHIPPED
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.order_id


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    order_item_id = models.CharField(max_length=20, unique=True)
    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_items"
    )
    sku = models.CharField(max_length=200)
    asin = models.CharField(max_length=10)
    title = models.CharField(max_length=500, blank=True)
    quantity_ordered = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.order.order_id} · {self.sku} × {self.quantity_ordered}"
