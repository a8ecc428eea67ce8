"""State of the simulated Shopify: shops, catalogue, stock, webhooks, bulk operations.

Shopify object ids are exposed as gids (`gid://shopify/<Type>/<number>`); the number is the
row's primary key plus a per-type offset (see `gids.py`), so that the sandbox hands out ids as
large as real ones (inventory item ids above 2**53) without any database trickery.
A product variant and its inventory item are one row here: Shopify keeps them 1:1.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone

API_VERSION = "2026-07"

ACCESS_SCOPES = "read_products,read_inventory,write_inventory,read_locations"


def new_client_secret() -> str:
    return f"shpss_{secrets.token_hex(16)}"


def new_access_token() -> str:
    return f"shpat_{secrets.token_hex(16)}"


def new_client_id() -> str:
    return secrets.token_hex(16)


def new_file_token() -> str:
    return secrets.token_urlsafe(24)


class RemembersLoadedValues:
    """Keeps the values of `REMEMBER` as loaded, so signals can tell what a save changed."""

    REMEMBER: tuple[str, ...] = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = {f: instance.__dict__[f] for f in cls.REMEMBER if f in instance.__dict__}
        return instance


class Shop(models.Model):
    """One simulated store with its app credentials and its GraphQL cost bucket."""

    domain = models.CharField(
        max_length=255, unique=True, help_text="e.g. demo-store.myshopify.com"
    )
    name = models.CharField(max_length=255)
    client_id = models.CharField(max_length=64, unique=True, default=new_client_id)
    client_secret = models.CharField(
        max_length=80,
        default=new_client_secret,
        help_text="Also the secret webhooks are signed with (as for a Dev Dashboard app).",
    )
    access_token = models.CharField(
        max_length=80,
        unique=True,
        default=new_access_token,
        help_text="A non-expiring Admin API token, as a legacy custom app has.",
    )
    bucket_size = models.PositiveIntegerField(
        default=2000, help_text="Cost points the bucket holds (Shopify: maximumAvailable)."
    )
    restore_rate = models.FloatField(
        default=100.0, help_text="Cost points restored per second (Standard plan: 100)."
    )
    bucket_available = models.FloatField(default=2000.0)
    bucket_updated_at = models.DateTimeField(default=timezone.now)
    throttled_requests = models.PositiveIntegerField(
        default=0, help_text="Requests answered THROTTLED, so tests can prove a client never is."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain


class AccessToken(models.Model):
    """A token issued by the client-credentials grant (24 hours)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=80, unique=True)
    scope = models.CharField(max_length=255, default=ACCESS_SCOPES)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.token[:10]}… ({self.shop})"


class Location(RemembersLoadedValues, models.Model):
    REMEMBER = ("is_active",)

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    fulfills_online_orders = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=255)
    handle = models.CharField(max_length=255)
    status = models.CharField(max_length=16, default="ACTIVE")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.title


class Variant(RemembersLoadedValues, models.Model):
    """A product variant together with its inventory item (1:1 in Shopify)."""

    REMEMBER = ("tracked", "sku")

    class InventoryPolicy(models.TextChoices):
        DENY = "DENY", "Deny (stop selling when out of stock)"
        CONTINUE = "CONTINUE", "Continue selling when out of stock"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    title = models.CharField(max_length=255, default="Default Title")
    sku = models.CharField(max_length=255, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=1)
    inventory_policy = models.CharField(
        max_length=8, choices=InventoryPolicy.choices, default=InventoryPolicy.DENY
    )
    tracked = models.BooleanField(default=True, help_text="Inventory item: quantities tracked.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["shop", "id"])]

    def __str__(self):
        return f"{self.sku or '(no SKU)'} — {self.title}"


class InventoryLevel(models.Model):
    """The quantities of one inventory item at one location."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="levels")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="levels")
    available = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="sbx_shopify_level_uniq")
        ]

    def __str__(self):
        return f"{self.variant.sku} @ {self.location.name}: {self.available}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remember what was loaded, so a save can tell whether stock changed (webhook or not).
        instance._loaded_available = instance.__dict__.get("available")
        return instance

    @property
    def on_hand(self) -> int:
        return self.available + self.committed


class Metafield(RemembersLoadedValues, models.Model):
    REMEMBER = ("value",)

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="metafields")
    namespace = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    type = models.CharField(max_length=64, default="number_integer")
    value = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "namespace", "key"], name="sbx_shopify_metafield_uniq"
            )
        ]

    def __str__(self):
        return f"{self.namespace}.{self.key}={self.value}"


class AdjustmentGroup(models.Model):
    """One applied (or refused) inventory mutation, kept for `@idempotent` replays."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="adjustment_groups")
    mutation = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the mutation's input.")
    reason = models.CharField(max_length=64)
    reference_document_uri = models.CharField(max_length=1000, blank=True)
    changes = models.JSONField(default=list)
    user_errors = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"], name="sbx_shopify_idempotency_uniq"
            )
        ]

    def __str__(self):
        return f"{self.mutation} {self.idempotency_key}"


class WebhookSubscription(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    topic = models.CharField(max_length=64, help_text="GraphQL enum, e.g. INVENTORY_LEVELS_UPDATE")
    uri = models.CharField(max_length=2000)
    format = models.CharField(max_length=8, default="JSON")
    name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.topic} → {self.uri}"

    @property
    def topic_path(self) -> str:
        """The REST-style topic of the X-Shopify-Topic header: INVENTORY_LEVELS_UPDATE → …"""
        return topic_path(self.topic)


def topic_path(enum_value: str) -> str:
    """`INVENTORY_LEVELS_UPDATE` → `inventory_levels/update` (the last word is the event)."""
    head, _, event = enum_value.lower().rpartition("_")
    return f"{head}/{event}"


class WebhookDelivery(models.Model):
    """One delivery of one event to one subscription: the log the admin and the tests read."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held back (reorder knob)"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retries exhausted)"
        DROPPED = "dropped", "Dropped (drop knob)"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    topic = models.CharField(max_length=64, help_text="e.g. inventory_levels/update")
    uri = models.CharField(max_length=2000)
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    webhook_id = models.UUIDField(default=uuid.uuid4, unique=True)
    triggered_at = models.DateTimeField(default=timezone.now)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    snapshot = models.JSONField(
        default=dict, help_text="Payload at trigger time, used only if the object is gone."
    )
    is_duplicate = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    body = models.TextField(blank=True, help_text="The body of the last attempt.")
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.topic} #{self.pk} ({self.status})"


class WebhookKnobs(models.Model):
    """Singleton: how unreliable webhook delivery is (Shopify's is at-least-once, unordered)."""

    duplicate_share = models.FloatField(
        default=0.0, help_text="Share of events delivered twice (0–1), same X-Shopify-Event-Id."
    )
    reorder_share = models.FloatField(
        default=0.0,
        help_text="Share of events held back and delivered after the next event (0–1).",
    )
    drop_share = models.FloatField(default=0.0, help_text="Share of events never delivered (0–1).")
    delay_seconds = models.FloatField(
        default=0.0, help_text="Delay before each delivery (ignored when Celery runs eagerly)."
    )
    max_attempts = models.PositiveIntegerField(
        default=8, help_text="Attempts per delivery (Shopify: 8 over 4 hours)."
    )
    retry_base_seconds = models.FloatField(
        default=5.0, help_text="First retry back-off; doubles on each attempt."
    )

    class Meta:
        verbose_name = "webhook knobs"
        verbose_name_plural = "webhook knobs"

    def __str__(self):
        return "Webhook knobs"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "WebhookKnobs":
        """The single row, created with the defaults (reliable delivery) on first use."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class BulkOperation(models.Model):
    class Status(models.TextChoices):
        CREATED = "CREATED"
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        CANCELED = "CANCELED"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="bulk_operations")
    type = models.CharField(max_length=16, default="QUERY")
    query = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    error_code = models.CharField(max_length=32, blank=True)
    object_count = models.PositiveBigIntegerField(default=0)
    root_object_count = models.PositiveBigIntegerField(default=0)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_token = models.CharField(max_length=64, default=new_file_token)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Bulk operation {self.pk} ({self.status})"
