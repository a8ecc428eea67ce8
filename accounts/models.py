"""Amazon accounts, Shopify stores and the mirror of the Shopify catalogue we sync from."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from .crypto import EncryptedTextField
from .marketplaces import LWA_TOKEN_HOST, LWA_TOKEN_PATH, REGION_OVERRIDE_HOSTS


class Region(models.TextChoices):
    NA = "NA", "North America"
    EU = "EU", "Europe"
    FE = "FE", "Far East"


class Marketplace(models.Model):
    """An Amazon marketplace, by its real SP-API id; rows come from a data migration."""

    id = models.CharField(primary_key=True, max_length=20, verbose_name="marketplace id")
    country_code = models.CharField(max_length=2)
    country = models.CharField(max_length=60)
    region = models.CharField(max_length=2, choices=Region.choices)

    class Meta:
        ordering = ["country"]

    def __str__(self):
        return f"Amazon {self.country}"


class AmazonAccount(models.Model):
    """One seller in one SP-API region, with its credentials and the sync switches."""

    name = models.CharField(max_length=100, unique=True)
    seller_id = models.CharField(
        "seller id",
        max_length=20,
        validators=[
            RegexValidator(
                r"^[A-Z0-9]{8,20}$",
                "A seller id is 8–20 capital letters "
                "and digits, as shown in Seller Central (e.g. A2Q3Y263D00KWC).",
            )
        ],
    )
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.NA)
    marketplaces = models.ManyToManyField(Marketplace, related_name="amazon_accounts")
    lwa_client_id = models.CharField("LWA client id", max_length=200)
    lwa_client_secret = EncryptedTextField("LWA client secret", blank=True)
    refresh_token = EncryptedTextField(blank=True)
    endpoint = models.URLField(
        "endpoint override",
        blank=True,
        help_text="Leave blank for Amazon's endpoint of the region. The sandbox sets its own.",
    )
    token_url = models.URLField(
        "token URL override",
        blank=True,
        help_text="Leave blank for Amazon's LWA token URL.",
    )
    auto_update_qty = models.BooleanField(
        "Update Amazon Item QTY when it has changed in Shopify",
        default=True,
        help_text="Off: Shopify stock changes are not sent automatically (listings show "
        "“Out of sync — held”); “Update Qty” on listings still works.",
    )
    inventory_sync_enabled = models.BooleanField(
        "Keep inventory in sync from Shopify to Amazon",
        default=True,
        help_text="Off: nothing is sent to Amazon for this account, not even by “Update Qty” "
        "(listings show “Sync off”). Amazon orders still lower Shopify stock unless the next "
        "switch says otherwise.",
    )
    orders_stop_with_sync = models.BooleanField(
        "Inventory sync off also stops orders changing Shopify",
        default=True,
        help_text="Seed 001's “Disable inventory sync”: while “Keep inventory in sync” is off, "
        "Amazon orders do not change Shopify stock either. Untick to keep orders flowing into "
        "Shopify while nothing is sent to Amazon.",
    )
    sync_fbm_orders = models.BooleanField(
        "Sync FBM orders to Shopify stock",
        default=True,
        help_text="Merchant-fulfilled Amazon orders lower Shopify stock (cancellations give it "
        "back); FBA orders never do.",
    )
    orders_synced_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller_id", "region"], name="unique_seller_per_region")
        ]
        # Day-to-day actions, apart from changing the account and its credentials (roles).
        permissions = [("operate_amazonaccount", "Can test the connection of Amazon accounts")]

    def __str__(self):
        return self.name

    @property
    def orders_change_shopify(self) -> bool:
        """Whether new FBM orders of this account lower Shopify stock (both switches)."""
        return self.sync_fbm_orders and (
            self.inventory_sync_enabled or not self.orders_stop_with_sync
        )

    def clean(self):
        # Overrides receive the refresh token and client secret: outside the sandbox, only
        # the region's SP-API hosts and LWA's token host may be named, exactly.
        errors = {}
        if self.endpoint:
            hosts = REGION_OVERRIDE_HOSTS.get(self.region, ())
            if not _is_exact_https_url(self.endpoint, hosts=hosts, paths=("", "/")):
                errors["endpoint"] = (
                    "The endpoint must be "
                    + " or ".join(f"https://{host}" for host in hosts)
                    + " (Amazon's SP-API hosts for this account's region), "
                    "with no port, user name or path."
                )
        if self.token_url and not _is_exact_https_url(
            self.token_url, hosts=(LWA_TOKEN_HOST,), paths=(LWA_TOKEN_PATH,)
        ):
            errors["token_url"] = (
                f"The token URL must be https://{LWA_TOKEN_HOST}{LWA_TOKEN_PATH} "
                "(Login with Amazon), with no port or user name."
            )
        if errors and not settings.SANDBOX_ENABLED:
            raise ValidationError(errors)
        # With the sandbox on, the overrides name the local sandbox; credentials in a URL
        # would still end up in logs, so they are refused there too.
        for field in ("endpoint", "token_url"):
            url = getattr(self, field)
            if url and (urlsplit(url).username or urlsplit(url).password):
                raise ValidationError({field: "Remove the user name and password from the URL."})


def _is_exact_https_url(url: str, *, hosts: tuple[str, ...], paths: tuple[str, ...]) -> bool:
    """An https URL on one of `hosts` exactly: no port, user info, query or fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed port or bracketed host
        return False
    return (
        parts.scheme == "https"
        and parts.netloc.lower() == parts.hostname
        and parts.hostname in hosts
        and port is None
        and parts.path in paths
        and not parts.query
        and not parts.fragment
    )


shop_domain_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$",
    "Enter the shop's myshopify.com domain, e.g. my-shop.myshopify.com.",
)


class ShopifyStore(models.Model):
    """One Shopify shop with its credentials; its locations and catalogue are mirrored below."""

    class AuthMethod(models.TextChoices):
        TOKEN = "token", "Admin API access token"
        CLIENT_CREDENTIALS = "client_credentials", "Client credentials grant (client id + secret)"

    name = models.CharField(max_length=100, unique=True)
    shop_domain = models.CharField(
        max_length=255,
        unique=True,
        validators=[shop_domain_validator],
        help_text="e.g. my-shop.myshopify.com",
    )
    auth_method = models.CharField(
        max_length=20, choices=AuthMethod.choices, default=AuthMethod.TOKEN
    )
    access_token = EncryptedTextField("Admin API access token", blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret = EncryptedTextField(blank=True)
    webhook_secret = EncryptedTextField(
        blank=True, help_text="The app's client secret that signs webhooks (HMAC-SHA256)."
    )
    api_version = models.CharField("API version", max_length=7, default="2026-07")
    base_url = models.URLField(
        "base URL override",
        blank=True,
        help_text="Leave blank for https://<shop domain>. The sandbox sets its own.",
    )
    default_location = models.ForeignKey(
        "Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where Amazon FBM sales are taken from when a profile counts several locations.",
    )
    # Short-lived token from the client-credentials grant, kept between worker restarts.
    oauth_token = EncryptedTextField(blank=True, editable=False)
    oauth_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    catalogue_imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    metafields_read_at = models.DateTimeField(
        "metafields read at",
        null=True,
        blank=True,
        editable=False,
        help_text="When metafield-sourced stock was last re-read (every few minutes).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Day-to-day actions, apart from changing the store and its credentials (roles).
        permissions = [
            ("operate_shopifystore", "Can test Shopify stores and import their catalogue")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.auth_method == self.AuthMethod.TOKEN and not self.access_token:
            errors["access_token"] = "An access token is required for this sign-in method."
        if self.auth_method == self.AuthMethod.CLIENT_CREDENTIALS:
            if not self.client_id:
                errors["client_id"] = "A client id is required for the client credentials grant."
            if not self.client_secret:
                errors["client_secret"] = (
                    "A client secret is required for the client credentials grant."
                )
        if self.base_url and not settings.SANDBOX_ENABLED:
            # The base URL receives the shop's tokens: outside the sandbox, only the shop itself.
            errors["base_url"] = "Leave the base URL blank: Stocklink talks to the shop directly."
        if self.default_location_id and self.default_location.store_id != self.pk:
            errors["default_location"] = "Choose one of this store's locations."
        if errors:
            raise ValidationError(errors)


class Location(models.Model):
    """A Shopify location (warehouse) that holds stock."""

    store = models.ForeignKey(ShopifyStore, on_delete=models.CASCADE, related_name="locations")
    shopify_id = models.BigIntegerField("Shopify id")
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["store", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "shopify_id"], name="unique_location_per_store"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.store})"


class Product(models.Model):
    store = models.ForeignKey(ShopifyStore, on_delete=models.CASCADE, related_name="products")
    shopify_id = models.BigIntegerField("Shopify id")
    title = models.CharField(max_length=255)

    class Meta:
        ordering = ["title"]
        # The Variants changelist sorts by product title: read in that order, cut at a page
        # (with the id, a deep page joins its variants from the index alone).
        indexes = [models.Index(fields=["title", "id"], name="product_title_id")]
        constraints = [
            models.UniqueConstraint(fields=["store", "shopify_id"], name="unique_product_per_store")
        ]

    def __str__(self):
        return self.title


class Variant(models.Model):
    """A Shopify product variant and its inventory item (one to one in Shopify)."""

    class InventoryPolicy(models.TextChoices):
        DENY = "DENY", "Stop selling when out of stock"
        CONTINUE = "CONTINUE", "Continue selling when out of stock"

    store = models.ForeignKey(ShopifyStore, on_delete=models.CASCADE, related_name="variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    # The product's title, stored with each variant by whatever writes either (the catalogue
    # import): the Variants changelist sorts by it from one index (docs/BENCHMARKS.md).
    product_title = models.CharField(max_length=255, blank=True, default="", editable=False)
    shopify_id = models.BigIntegerField("Shopify id")
    title = models.CharField(max_length=255)
    sku = models.CharField("SKU", max_length=255, blank=True, db_index=True)
    inventory_item_id = models.BigIntegerField("inventory item id")
    tracked = models.BooleanField("inventory tracked", default=True)
    inventory_policy = models.CharField(
        max_length=8, choices=InventoryPolicy.choices, default=InventoryPolicy.DENY
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_title", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "shopify_id"], name="unique_variant_per_store"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "inventory_item_id"]),
            # The Variants changelist's SKU search: exact or prefix (accounts/admin_large.py).
            models.Index(
                fields=["sku"], opclasses=["varchar_pattern_ops"], name="variant_sku_prefix"
            ),
            # The Variants changelist's order (and -id, which the admin adds): a deep page such as
            # `?p=500` walks this index, no join and no sort.
            models.Index(fields=["product_title", "title", "-id"], name="variant_changelist_order"),
        ]

    def __str__(self):
        return f"{self.product.title} — {self.title}" if self.title else self.product.title


class InventoryLevel(models.Model):
    """Shopify's `available` quantity of one variant at one location."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="levels")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="levels")
    available = models.IntegerField()
    # When we last learnt this level (our read time, or the webhook's): older news never
    # overwrites newer.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="unique_level"),
        ]

    def __str__(self):
        return f"{self.variant.sku} @ {self.location.name}: {self.available}"


class MetafieldValue(models.Model):
    """A variant metafield that a Global Profile uses as its stock source (raw string value)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="metafields")
    namespace = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    value = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "namespace", "key"], name="unique_metafield"
            ),
        ]

    def __str__(self):
        return f"{self.namespace}.{self.key} = {self.value!r}"
