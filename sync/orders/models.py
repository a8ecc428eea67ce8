"""Amazon orders and the ledger that applies their merchant-fulfilled items to Shopify stock.

Imported into `sync.models`, so Django sees these as models of the `sync` app. The services that
write them are `intake.py`, `matching.py` and `apply.py` beside this module.

The ledger (`OrderStockEntry`) has one row per order item and action (decrement, restore),
enforced by the database: an order item can take stock off Shopify once and give it back once,
however many times the order is imported, retried or re-run after a crash.
"""

from django.db import models
from django.db.models import Q


class AmazonOrder(models.Model):
    """An Amazon order as searchOrders (Orders API 2026-01-01) last described it."""

    class FulfilledBy(models.TextChoices):
        MERCHANT = "MERCHANT", "FBM — fulfilled by merchant"
        AMAZON = "AMAZON", "FBA — fulfilled by Amazon"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        UNSHIPPED = "UNSHIPPED", "Unshipped"
        PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED", "Partially shipped"
        SHIPPED = "SHIPPED", "Shipped"
        CANCELLED = "CANCELLED", "Cancelled"
        UNFULFILLABLE = "UNFULFILLABLE", "Unfulfillable"

    account = models.ForeignKey(
        "accounts.AmazonAccount", on_delete=models.CASCADE, related_name="amazon_orders"
    )
    marketplace = models.ForeignKey(
        "accounts.Marketplace", on_delete=models.PROTECT, related_name="amazon_orders"
    )
    order_id = models.CharField("Amazon order id", max_length=50)
    status = models.CharField(max_length=20, choices=Status.choices)
    fulfilled_by = models.CharField("fulfilment", max_length=10, choices=FulfilledBy.choices)
    purchased_at = models.DateTimeField()
    last_updated = models.DateTimeField(help_text="Amazon's lastUpdatedTime of the order.")
    syncs_stock = models.BooleanField(
        "changes Shopify stock",
        default=False,
        help_text="An FBM order seen while “Sync FBM orders to Shopify stock” was on. "
        "Decided when the order is first imported, so switching later never replays old orders.",
    )
    raw = models.JSONField("as Amazon sent it", default=dict)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-purchased_at"]
        verbose_name = "Amazon order"
        constraints = [
            models.UniqueConstraint(fields=["account", "order_id"], name="unique_amazon_order")
        ]
        indexes = [models.Index(fields=["account", "-last_updated"])]

    def __str__(self):
        return self.order_id

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


class AmazonOrderItem(models.Model):
    """One line of an order; `listing` is empty while its SKU is not linked ("unmatched")."""

    order = models.ForeignKey(AmazonOrder, on_delete=models.CASCADE, related_name="items")
    order_item_id = models.CharField("order item id", max_length=50)
    sku = models.CharField("Amazon SKU", max_length=255, blank=True)
    asin = models.CharField("ASIN", max_length=10, blank=True)
    quantity = models.PositiveIntegerField("quantity ordered")
    listing = models.ForeignKey(
        "selling_lists.Listing",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_items",
        help_text="Empty: no listing has this SKU in the order's account and marketplace.",
    )

    class Meta:
        ordering = ["order", "order_item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "order_item_id"], name="unique_amazon_order_item"
            )
        ]

    def __str__(self):
        return f"{self.order.order_id} · {self.sku} × {self.quantity}"


class OrderStockEntry(models.Model):
    """The ledger: one Shopify stock change an order item causes, and whether it happened.

    Exactly once: the unique (order item, action) pair, a lease so two workers never send the
    same entry, and `attempt_key`/`change_from` written *before* each Shopify call, so a worker
    that dies after the call leaves an attempt "in doubt" that the next run resolves (Shopify's
    `@idempotent` replay, else a re-read compared with `change_from` + delta).
    """

    class Action(models.TextChoices):
        DECREMENT = "decrement", "Take off Shopify stock (sale)"
        RESTORE = "restore", "Give back to Shopify stock (cancellation)"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied to Shopify"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not needed"

    order_item = models.ForeignKey(
        AmazonOrderItem, on_delete=models.PROTECT, related_name="stock_entries"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    quantity = models.PositiveIntegerField(help_text="Units taken off or given back.")
    store = models.ForeignKey(
        "accounts.ShopifyStore", on_delete=models.PROTECT, related_name="order_stock_entries"
    )
    variant = models.ForeignKey(
        "accounts.Variant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_stock_entries",
    )
    location = models.ForeignKey(
        "accounts.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_stock_entries",
    )
    # Shopify's own ids, kept so a retry or a restore hits exactly what the first write hit.
    inventory_item_id = models.BigIntegerField("Shopify inventory item id", null=True, blank=True)
    shopify_location_id = models.BigIntegerField("Shopify location id", null=True, blank=True)
    idempotency_key = models.CharField(
        max_length=200, unique=True, help_text="Derived from the order item and the action."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_key = models.CharField(
        max_length=220,
        blank=True,
        help_text="The @idempotent key of a Shopify call whose outcome is not yet recorded.",
    )
    change_from = models.IntegerField(
        null=True, blank=True, help_text="Shopify's available we expected before that call."
    )
    quantity_after = models.IntegerField("available after", null=True, blank=True)
    error = models.TextField(blank=True)
    note = models.CharField(max_length=255, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Shopify stock ledger entry"
        verbose_name_plural = "Shopify stock ledger"
        constraints = [
            models.UniqueConstraint(
                fields=["order_item", "action"], name="one_stock_entry_per_item_and_action"
            ),
            models.CheckConstraint(
                condition=Q(state="applied", applied_at__isnull=False) | ~Q(state="applied"),
                name="applied_stock_entry_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "action"]),
            models.Index(fields=["variant", "state"]),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.quantity} · {self.order_item}"

    @property
    def delta(self) -> int:
        return -self.quantity if self.action == self.Action.DECREMENT else self.quantity

    @property
    def in_doubt(self) -> bool:
        """A Shopify call was started and its outcome never recorded (the worker died)."""
        return bool(self.attempt_key)
