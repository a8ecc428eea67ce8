"""The sync engine's data: the outbox of quantity pushes (also their audit log), Amazon feeds,
Shopify webhook events (for dedupe and staleness), rejected webhooks and rate-limit buckets.

Amazon orders and their stock ledger live in `orders/models.py`; Django finds an app's models
in its `models` module, so they are imported here too (`__all__` lists every model of the app).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .jobs.models import Job
from .orders.models import AmazonOrder, AmazonOrderItem, OrderStockEntry

__all__ = [
    "AmazonFeed",
    "AmazonOrder",
    "AmazonOrderItem",
    "Job",
    "OrderStockEntry",
    "QtyPush",
    "RateLimitBucket",
    "ReconcileRun",
    "SellerCircuit",
    "WebhookEvent",
    "WebhookRejection",
]


class PushReason(models.TextChoices):
    """Why a push was queued: every recompute names one (sync/outbox/decide.py uses them)."""

    STOCK_CHANGE = "stock_change", "Stock change in Shopify"
    MANUAL = "manual", "Update Qty (manual)"
    PROFILE_CHANGE = "profile_change", "Profile or Selling List change"
    LISTING_EDIT = "listing_edit", "Listing edited (SKU, variant or own rule)"
    LINK = "link", "Linked"
    CATALOGUE = "catalogue", "Catalogue import"
    SYNC_ON = "sync_on", "Sync or automatic updates switched on"
    ORDER = "order", "Amazon order"
    RECONCILE = "reconcile", "Reconcile"


class PushTransport(models.TextChoices):
    PATCH = "patch", "patchListingsItem"
    FEED = "feed", "JSON_LISTINGS_FEED"


class PushState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent — awaiting confirmation"
    DONE = "done", "Done — Amazon shows it"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


# States in which Amazon has been, or is being, told the push's quantity but it is not confirmed.
IN_FLIGHT_STATES = (PushState.SENDING, PushState.SENT)


class AmazonFeed(models.Model):
    """One JSON_LISTINGS_FEED of quantity pushes, from upload to its processing report."""

    class Status(models.TextChoices):
        IN_QUEUE = "IN_QUEUE", "In queue"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        DONE = "DONE", "Done"
        CANCELLED = "CANCELLED", "Cancelled"
        FATAL = "FATAL", "Fatal"

    account = models.ForeignKey(
        "accounts.AmazonAccount", on_delete=models.CASCADE, related_name="feeds"
    )
    marketplace = models.ForeignKey(
        "accounts.Marketplace", on_delete=models.PROTECT, related_name="feeds"
    )
    feed_id = models.CharField("Amazon feed id", max_length=50)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_QUEUE)
    messages = models.PositiveIntegerField(default=0)
    result_document_id = models.CharField(max_length=200, blank=True)
    report = models.JSONField("processing report", null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField("report applied at", null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = "Amazon feed"
        constraints = [
            models.UniqueConstraint(fields=["account", "feed_id"], name="unique_feed_per_account")
        ]
        indexes = [models.Index(fields=["applied_at", "next_poll_at"])]

    def __str__(self):
        return f"Feed {self.feed_id}"


class QtyPush(models.Model):
    """One attempt to set one listing's quantity on Amazon: the outbox row and its audit record.

    Written in the same transaction as the change that caused it; at most one `pending` row per
    listing (a newer target replaces its quantity). Workers claim pending rows, send them, and
    record Amazon's answer; a read-back of the listing confirms it before it is `done`.
    """

    # Indexed by the composite indexes below, which start with them: a catalogue-wide change
    # inserts a push per listing, and each index is one more write per push.
    listing = models.ForeignKey(
        "selling_lists.Listing", on_delete=models.CASCADE, related_name="qty_pushes", db_index=False
    )
    # Copied from the listing so that workers claim one seller's pushes without a join. No
    # foreign key constraint in the database: checking it at every commit took half a second of
    # a 100,000-listing recompute (docs/BENCHMARKS.md). The listing's constraint covers it: the
    # copy is written from the locked listing row, whose own account is constrained, and an
    # account can only be deleted once its Selling Lists, with their listings, are gone (a
    # push still naming one of those listings makes the database refuse).
    account = models.ForeignKey(
        "accounts.AmazonAccount",
        on_delete=models.CASCADE,
        related_name="qty_pushes",
        db_index=False,
        db_constraint=False,
    )
    quantity = models.PositiveIntegerField("target quantity")
    previous_quantity = models.IntegerField(
        "last sent before", null=True, blank=True, help_text="What Amazon had last been told."
    )
    trace = models.JSONField(default=list, help_text="How the target was computed.")
    shopify_stock = models.IntegerField(
        "Shopify stock",
        null=True,
        blank=True,
        help_text="The stock the target was computed from, as read from Shopify (the listing's "
        "history chart).",
    )
    reason = models.CharField(max_length=15, choices=PushReason.choices)
    transport = models.CharField(max_length=5, choices=PushTransport.choices, blank=True)
    state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.PENDING)
    amazon_status = models.CharField("Amazon's answer", max_length=10, blank=True)
    message = models.TextField(blank=True)
    response = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Times it was sent.")
    checks = models.PositiveIntegerField(default=0, help_text="Read-backs after ACCEPTED.")
    sold_since_sent = models.PositiveIntegerField(
        default=0,
        help_text="Units Amazon sold of this listing while the push was on the wire: a "
        "read-back showing that many fewer still confirms it.",
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    amazon_shown = models.IntegerField(
        "Amazon showed",
        null=True,
        blank=True,
        help_text="The quantity Amazon showed when it confirmed the push.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index below: most pushes have no user
    )
    feed = models.ForeignKey(
        AmazonFeed,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pushes",
        db_index=False,  # `feed, feed_message_id` below
    )
    feed_message_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "qty push"
        constraints = [
            models.UniqueConstraint(
                fields=["listing"],
                condition=Q(state="pending"),
                name="one_pending_push_per_listing",
                violation_error_message="This listing already has a pending push.",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="push_quantity_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account", "state", "next_attempt_at"]),
            models.Index(fields=["listing", "state"]),
            # Only pushes sent in a feed: a push is queued without one (a recompute writes
            # 100,000), and a push sent alone by a patch never gets one.
            models.Index(
                fields=["feed", "feed_message_id"],
                condition=Q(feed__isnull=False),
                name="qtypush_feed_message",
            ),
            models.Index(
                fields=["created_by"],
                condition=Q(created_by__isnull=False),
                name="qtypush_created_by",
            ),
            # A recompute's lookup of each listing's unsent push: the few not done yet, however
            # long the listings' history grows.
            models.Index(
                fields=["listing"],
                condition=Q(state__in=["pending", "sending", "sent"]),
                name="qtypush_unsent",
            ),
            # The oldest due push, for /metrics' queue lag (sync/metrics.py): the pending few.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="qtypush_pending_due",
            ),
        ]

    def __str__(self):
        # The SKU, not the listing's id: "45 → 5" read like two quantities.
        return f"{self.listing.sku} → {self.quantity} ({self.get_state_display()})"


class WebhookEvent(models.Model):
    """A Shopify webhook delivery we accepted (signature good), kept for dedupe and audit.

    Headers are stored whole or the delivery is refused (400): never truncated, so two distinct
    event ids stay distinct (HEADER_MAX_LENGTH, docs/security.md).
    """

    HEADER_MAX_LENGTH = 255

    store = models.ForeignKey(
        "accounts.ShopifyStore", on_delete=models.CASCADE, related_name="webhook_events"
    )
    topic = models.CharField(max_length=HEADER_MAX_LENGTH)
    event_id = models.CharField("X-Shopify-Event-Id", max_length=HEADER_MAX_LENGTH)
    webhook_id = models.CharField("X-Shopify-Webhook-Id", max_length=HEADER_MAX_LENGTH, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "event_id"], name="unique_event_per_store")
        ]
        indexes = [
            models.Index(fields=["store", "processed_at"]),
            # The oldest unprocessed event, for /metrics' queue lag: never a scan of the history.
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="webhookevent_unprocessed",
            ),
        ]

    def __str__(self):
        return f"{self.topic} {self.event_id}"


class WebhookRejection(models.Model):
    """A counter of refused webhook deliveries per store (null: unknown shop), reason and day.

    Counting, not storing: a forged request leaves no payload behind, and a flood of them adds
    one row per day and reason, not one per request. With Redis, requests count there and a
    task adds the counts here every few seconds (sync/inbound/webhooks.py).
    """

    class Reason(models.TextChoices):
        UNKNOWN_SHOP = "unknown_shop", "Unknown shop domain"
        MISSING_SIGNATURE = "missing_signature", "Missing signature"
        BAD_SIGNATURE = "bad_signature", "Signature does not match"
        MALFORMED = "malformed", "Signed, but not valid JSON"
        BAD_HEADER = "bad_header", "Signed, but a header is too long or not text"

    store = models.ForeignKey(
        "accounts.ShopifyStore",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_rejections",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    day = models.DateField(default=timezone.localdate)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "reason"]
        # Two partial constraints: NULLs are distinct in a plain unique index (SQLite, PG < 15).
        constraints = [
            models.UniqueConstraint(
                fields=["store", "reason", "day"],
                condition=Q(store__isnull=False),
                name="one_rejection_counter_per_store_day",
            ),
            models.UniqueConstraint(
                fields=["reason", "day"],
                condition=Q(store__isnull=True),
                name="one_rejection_counter_per_unknown_day",
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()}: {self.count} on {self.day}"


class RateLimitBucket(models.Model):
    """A token bucket shared by every worker when no Redis is configured (see ratelimit.py)."""

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField()
    refilled_at = models.FloatField(help_text="Unix time of the last refill.")

    def __str__(self):
        return f"{self.key}: {self.tokens:.2f}"


class ReconcileRun(models.Model):
    """One reconcile pass: when, how long, what it found. Also its lock: at most one row is
    running (a partial unique constraint), so a pass never overlaps the next."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    running = models.BooleanField(default=True)
    seconds = models.FloatField("duration (s)", null=True, blank=True)
    interval_seconds = models.FloatField(
        "interval (s)", null=True, blank=True, help_text="Beat's interval when the pass ran."
    )
    read_back = models.PositiveIntegerField("Amazon quantities read", default=0)
    drifted = models.PositiveIntegerField(default=0)
    variants = models.PositiveIntegerField("Shopify variants re-read", default=0)
    errors = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["running"], condition=Q(running=True), name="one_reconcile_running"
            ),
        ]

    def __str__(self):
        return f"Reconcile of {self.started_at:%Y-%m-%d %H:%M}"


class SellerCircuit(models.Model):
    """One circuit per seller (docs/convergence.md): while Amazon fails, one probe at a time.

    Closed: pushes flow. Open: Amazon answered 5xx or timed out; nothing is sent until
    `next_probe_at`, when a single push goes out as the probe; its success closes the circuit
    and the backlog drains at the published rate. Credentials: Amazon refused the account's
    credentials; nothing is sent until they are saved again (or sync is resumed).
    """

    class State(models.TextChoices):
        CLOSED = "closed", "Amazon answers"
        OPEN = "open", "Amazon is failing: probing"
        CREDENTIALS = "credentials", "Credentials refused"

    account = models.OneToOneField(
        "accounts.AmazonAccount", on_delete=models.CASCADE, related_name="circuit"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.CLOSED)
    failures = models.PositiveIntegerField(default=0, help_text="Failed probes in a row.")
    reason = models.TextField(blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    probe_token = models.UUIDField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "seller circuit"

    def __str__(self):
        return f"{self.account_id}: {self.get_state_display()}"
