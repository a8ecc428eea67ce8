"""Selling Lists and Listings: which Shopify variant feeds which Amazon SKU, under which rule.

A listing's state (docs/convergence.md) is stored in `Listing.status` by the sync engine as
things happen; `Listing.state` and `selectors.listings_with_state` add what needs no write:
a pause, or the account's sync switch, shows at once.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from profiles.models import (
    QtyMode,
    StockSource,
    default_profile,
    quantity_limit,
    validate_mode_quantity,
)


class SellingList(models.Model):
    """A named group of linked products for one Amazon account and marketplace, one profile."""

    name = models.CharField(max_length=100)
    amazon_account = models.ForeignKey(
        "accounts.AmazonAccount", on_delete=models.PROTECT, related_name="selling_lists"
    )
    marketplace = models.ForeignKey(
        "accounts.Marketplace", on_delete=models.PROTECT, related_name="selling_lists"
    )
    shopify_store = models.ForeignKey(
        "accounts.ShopifyStore", on_delete=models.PROTECT, related_name="selling_lists"
    )
    profile = models.ForeignKey(
        "profiles.GlobalProfile",
        on_delete=models.PROTECT,
        related_name="selling_lists",
        verbose_name="Global Profile",
        blank=True,
        help_text="Leave blank to use the default profile.",
    )
    paused = models.BooleanField(
        "pause sync",
        default=False,
        help_text="Nothing in this list is sent to Amazon while paused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["amazon_account", "name"], name="unique_selling_list_name_per_account"
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if locked := self.locked_changes():
            raise ValidationError(f"{self} has listings: {', '.join(locked)} cannot change.")
        if not self.profile_id:
            self.profile = default_profile()
        super().save(*args, **kwargs)

    # Once it has listings, these say where the listings sync: changing them would leave the
    # listings on the old seller, marketplace or store. Move the listings explicitly instead.
    LOCKED_FIELDS = ("amazon_account", "marketplace", "shopify_store")

    def locked_changes(self) -> list[str]:
        """The locked fields this unsaved edit changes while the list has listings."""
        if not self.pk:
            return []
        saved = (
            SellingList.objects.filter(pk=self.pk)
            .values("amazon_account_id", "marketplace_id", "shopify_store_id")
            .first()
        )
        if saved is None:
            return []
        changed = [
            name
            for name in self.LOCKED_FIELDS
            if saved[f"{name}_id"] != getattr(self, f"{name}_id")
        ]
        if changed and self.listings.exists():
            return changed
        return []

    def clean(self):
        locked = self.locked_changes()
        if locked:
            raise ValidationError(
                {
                    name: "Locked: this Selling List has listings. Move them to another list "
                    "first (“Move listings”), or create a new list."
                    for name in locked
                }
            )
        if not self.profile_id:
            profile = default_profile()
            if profile is None:
                raise ValidationError({"profile": "Choose a profile: no profile is the default."})
            self.profile = profile
        if (
            self.amazon_account_id
            and self.marketplace_id
            and not self.amazon_account.marketplaces.filter(pk=self.marketplace_id).exists()
        ):
            raise ValidationError(
                {"marketplace": f"{self.amazon_account} does not sell in {self.marketplace}."}
            )


class ListingStatus(models.TextChoices):
    """The state model (docs/convergence.md): computed from what Amazon shows, read back and
    lowered by Amazon's own sales, never from what was merely sent."""

    LINKED = "linked", "Linked — in sync"  # Amazon shows the Result
    PENDING = "pending", "Pending Qty Update"  # queued, or sent and awaiting its read-back
    SENDING = "sending", "Sending"  # a worker holds it (a lease renewed by a heartbeat)
    WAITING = "waiting", "Waiting for Amazon"  # transient failure: next try at retry_at
    FAILED = "failed", "Qty update failed"  # permanent: Amazon's message or credentials
    HELD = "held", "Out of sync — held"  # differs, not sent on purpose (auto off, static)
    PAUSED = "paused", "Paused"  # the listing or its Selling List is paused
    SYNC_OFF = "sync_off", "Sync off"  # the account's inventory sync is off
    STOCK_MISSING = "stock_missing", "Stock missing"  # policy "keep": Amazon left as it is
    NOT_ON_AMAZON = "not_on_amazon", "Not on Amazon"
    FBA = "fba", "FBA — managed by Amazon"  # never pushed


# States in which Amazon does not (yet) show the Result of a listing that Stocklink sends:
# the "Out of sync" filter and counts. FBA, paused and sync off are not "out of sync".
OUT_OF_SYNC_STATES = (
    ListingStatus.PENDING,
    ListingStatus.SENDING,
    ListingStatus.WAITING,
    ListingStatus.FAILED,
    ListingStatus.HELD,
    ListingStatus.STOCK_MISSING,
    ListingStatus.NOT_ON_AMAZON,
)


class FulfillmentChannel(models.TextChoices):
    FBM = "FBM", "FBM — fulfilled by merchant"
    FBA = "FBA", "FBA — fulfilled by Amazon"


def state_expression() -> models.Case:
    """`Listing.state` in SQL (annotations, filters, counts): FBA, the account's sync switch
    and a pause win over the stored `status`."""
    return models.Case(
        models.When(
            fulfillment_channel=FulfillmentChannel.FBA, then=models.Value(ListingStatus.FBA)
        ),
        models.When(
            amazon_account__inventory_sync_enabled=False, then=models.Value(ListingStatus.SYNC_OFF)
        ),
        models.When(
            Q(paused=True) | Q(selling_list__paused=True), then=models.Value(ListingStatus.PAUSED)
        ),
        default=models.F("status"),
        output_field=models.CharField(),
    )


class Listing(models.Model):
    """One Shopify variant linked to one Amazon SKU in one marketplace."""

    # No single-column index on these three: every status change rewrites each index of the
    # table (a recompute of 100,000 listings), and composite indexes below start with them
    # (`listing_list_sku`, the unique constraint); marketplaces are a fixed reference table.
    selling_list = models.ForeignKey(
        SellingList, on_delete=models.CASCADE, related_name="listings", db_index=False
    )
    # Copied from the Selling List so the database can enforce one listing per account+market+SKU.
    amazon_account = models.ForeignKey(
        "accounts.AmazonAccount",
        on_delete=models.CASCADE,
        related_name="listings",
        editable=False,
        db_index=False,
    )
    marketplace = models.ForeignKey(
        "accounts.Marketplace",
        on_delete=models.PROTECT,
        related_name="listings",
        editable=False,
        db_index=False,
    )
    variant = models.ForeignKey(
        "accounts.Variant",
        null=True,
        on_delete=models.SET_NULL,
        related_name="listings",
        verbose_name="Shopify variant",
    )
    sku = models.CharField("Amazon SKU", max_length=255)
    asin = models.CharField("ASIN", max_length=10, blank=True)
    product_type = models.CharField(max_length=100, default="PRODUCT")
    fulfillment_channel = models.CharField(
        max_length=3, choices=FulfillmentChannel.choices, default=FulfillmentChannel.FBM
    )
    status = models.CharField(
        max_length=15, choices=ListingStatus.choices, default=ListingStatus.PENDING
    )
    status_message = models.TextField(
        blank=True, help_text="Amazon's message, or why stock is missing."
    )
    retry_at = models.DateTimeField(
        "next try", null=True, blank=True, help_text="Waiting for Amazon: when it is tried again."
    )
    stock_missing = models.BooleanField(default=False)
    last_sent_quantity = models.IntegerField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    computed_quantity = models.IntegerField("last computed quantity", null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    amazon_quantity = models.IntegerField(
        "quantity Amazon shows", null=True, blank=True, help_text="As last read back from Amazon."
    )
    override_mode = models.CharField(
        "own Item Qty mode",
        max_length=10,
        choices=QtyMode.choices,
        blank=True,
        help_text="Overrides the Selling List's profile for this listing only (single edit).",
    )
    override_quantity = models.PositiveIntegerField(
        "own N", null=True, blank=True, validators=[quantity_limit]
    )
    paused = models.BooleanField("pause sync", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["amazon_account", "marketplace", "sku"],
                name="one_listing_per_account_marketplace_sku",
                violation_error_message="This SKU is already linked in this "
                "Amazon account and marketplace.",
            ),
        ]
        # The Listings changelist at 300,000 rows (docs/BENCHMARKS.md): its order (sku, then
        # -id, which the admin adds to make it total) and each filter followed by that order,
        # so a page is read from an index and cut at 100 rows instead of sorting the table.
        # Rare values get partial indexes, which cost nothing when a row does not match. The
        # search's trigram indexes (sku, asin) are on `ListingSearch`, which status writes skip.
        # No index reads a column a recompute or a push writes (status, its message, the
        # quantities and their times): with the free space of `fillfactor` (migration 0008),
        # those updates are HOT, written in the row's page with no new index entry. The status
        # filters read the table instead (110–170 ms at 300,000 rows, docs/BENCHMARKS.md).
        indexes = [
            models.Index(fields=["sku", "-id"], name="listing_sku_order"),
            models.Index(
                fields=["sku"], opclasses=["varchar_pattern_ops"], name="listing_sku_prefix"
            ),
            models.Index(fields=["selling_list", "sku", "-id"], name="listing_list_sku"),
            models.Index(
                fields=["sku", "-id"], condition=Q(stock_missing=True), name="listing_missing_sku"
            ),
            models.Index(
                fields=["sku", "-id"], condition=Q(paused=True), name="listing_paused_sku"
            ),
            models.Index(
                fields=["sku", "-id"],
                condition=Q(fulfillment_channel="FBA"),
                name="listing_fba_sku",
            ),
        ]

    def __str__(self):
        return self.sku

    def save(self, *args, **kwargs):
        self._copy_from_selling_list()
        if self.fulfillment_channel == FulfillmentChannel.FBA:
            self.status = ListingStatus.FBA
        super().save(*args, **kwargs)

    def clean(self):
        if self.override_mode:
            validate_mode_quantity(self.override_mode, self.override_quantity, "override_quantity")
        if (
            self.variant_id
            and self.selling_list_id
            and self.variant.store_id != self.selling_list.shopify_store_id
        ):
            raise ValidationError(
                {"variant": "Choose a variant of the Selling List's Shopify store."}
            )
        if self.selling_list_id:
            self._copy_from_selling_list()
            clash = Listing.objects.filter(
                amazon_account_id=self.amazon_account_id,
                marketplace_id=self.marketplace_id,
                sku=self.sku,
            ).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError(
                    {"sku": "This SKU is already linked in this Amazon account and marketplace."}
                )

    def _copy_from_selling_list(self):
        self.amazon_account_id = self.selling_list.amazon_account_id
        self.marketplace_id = self.selling_list.marketplace_id

    @property
    def state(self) -> str:
        """The state shown to the merchant: a pause or the sync switch shows at once, before
        the engine has rewritten `status` (needs the Selling List and account loaded)."""
        if self.fulfillment_channel == FulfillmentChannel.FBA:
            return ListingStatus.FBA
        if not self.amazon_account.inventory_sync_enabled:
            return ListingStatus.SYNC_OFF
        if self.paused or self.selling_list.paused:
            return ListingStatus.PAUSED
        return self.status

    @property
    def source_read_at(self):
        """When the stock this listing's Result reads was last read from Shopify: the
        metafield refresh for a metafield source, else the variant's newest level."""
        if self.selling_list.profile.source == StockSource.METAFIELD:
            return self.selling_list.shopify_store.metafields_read_at
        if self.variant_id is None:
            return None
        return self.variant.levels.aggregate(models.Max("updated_at"))["updated_at__max"]

    @property
    def state_text(self) -> str:
        """The state in words, with its reason: "Waiting for Amazon — next try 14:05 (…)"."""
        state = self.state
        label = ListingStatus(state).label
        if state == ListingStatus.WAITING and self.retry_at:
            at = timezone.localtime(self.retry_at).strftime("%H:%M:%S")
            why = f" ({self.status_message})" if self.status_message else ""
            return f"{label} — next try {at}{why}"
        if state in (ListingStatus.PAUSED, ListingStatus.SYNC_OFF, ListingStatus.FBA):
            return label
        return f"{label}: {self.status_message}" if self.status_message else label


class ListingSearch(models.Model):
    """A listing's SKU and ASIN, copied to a narrow table of their own for the Listings'
    substring search (its trigram indexes), on PostgreSQL only.

    A recompute rewrites every listing's status, which is indexed, so each index of the listing
    table gets a new entry per row; GIN trigram indexes there made that UPDATE 1.6–1.7× as slow
    (docs/BENCHMARKS.md). Here they are written only when a SKU or ASIN changes. The table, its
    indexes and the triggers that keep it in step with every write path are migration 0007's,
    made on PostgreSQL only (not managed: nothing on SQLite reads it).
    """

    listing = models.OneToOneField(
        Listing,
        primary_key=True,
        # Not Django's to cascade: the triggers delete the copy (SQLite has no table to read).
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    sku = models.TextField()
    asin = models.TextField()

    class Meta:
        managed = False
        db_table = "selling_lists_listing_search"

    def __str__(self):
        return self.sku
