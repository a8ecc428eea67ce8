"""Global Profiles: named stock rules that Selling Lists (and listing overrides) use."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import Q

from . import rules

# Amazon's listings schemas give `fulfillment_availability.quantity` a minimum of 0 and publish
# no maximum. A million units is far above any merchant-fulfilled stock yet keeps a typo
# (10^12) out of the rule, the database's integer columns and Amazon's validation.
MAX_QUANTITY = 1_000_000
quantity_limit = MaxValueValidator(MAX_QUANTITY, "Enter at most 1,000,000 units.")


class QtyMode(models.TextChoices):
    # Both seeds' names, so merchants coming from Salestio or Codisto recognise them.
    PRODUCT = rules.Mode.PRODUCT, "Product value / Inventory Level — Shopify stock"
    SINGLE = rules.Mode.SINGLE, "Single stock — always 1"
    FIXED = rules.Mode.FIXED, "Custom quantity / Fixed Quantity — always N"
    CAP = rules.Mode.CAP, "Not more than / Max Quantity — stock, at most N"
    BUFFER = rules.Mode.BUFFER, "Quantity Buffer — stock minus N"


class StockSource(models.TextChoices):
    AVAILABLE = rules.Source.AVAILABLE, "Shopify “available” quantity"
    METAFIELD = rules.Source.METAFIELD, "A variant metafield (custom field)"


class MissingStockPolicy(models.TextChoices):
    KEEP = rules.MissingStock.KEEP, "Keep Amazon's quantity as it is and flag the listing"
    ZERO = rules.MissingStock.ZERO, "Send 0"
    FIXED = rules.MissingStock.FIXED, "Send a fixed quantity"


class FixedAfterSale(models.TextChoices):
    LOWER = "lower", "Let Amazon's quantity go down with each sale (Salestio)"
    RESTORE = "restore", "Set it back to the fixed quantity after a sale (Codisto)"


def validate_mode_quantity(mode: str, quantity: int | None, field: str = "quantity") -> None:
    if mode in rules.MODES_WITH_QUANTITY and quantity is None:
        label = QtyMode(mode).label.split(" — ")[0]
        raise ValidationError({field: f"“{label}” needs a quantity (N)."})


class GlobalProfile(models.Model):
    """A named stock rule. Exactly one profile is the default (enforced by the database)."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(
        "default profile",
        default=False,
        help_text="Used by Selling Lists that choose no profile. Only one can be the default.",
    )
    mode = models.CharField(
        "Item Qty mode", max_length=10, choices=QtyMode.choices, default=QtyMode.PRODUCT
    )
    quantity = models.PositiveIntegerField(
        "N",
        null=True,
        blank=True,
        validators=[quantity_limit],
        help_text="The fixed quantity, the “not more than” maximum, or the buffer.",
    )
    percentage = models.PositiveSmallIntegerField(
        "percentage of stock",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Show only this share of the stock on Amazon, rounded down. Blank: 100 %.",
    )
    keep_one = models.BooleanField(
        "never round a positive stock down to 0",
        default=False,
        help_text="With a percentage: 1 unit in stock still shows 1 on Amazon.",
    )
    out_of_stock_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[quantity_limit],
        help_text="Send 0 when the result is at or below this number.",
    )
    max_quantity = models.PositiveIntegerField(
        "never more than",
        null=True,
        blank=True,
        validators=[quantity_limit],
        help_text="An upper limit applied after everything else, in any stock-based mode.",
    )
    source = models.CharField(
        "stock source", max_length=10, choices=StockSource.choices, default=StockSource.AVAILABLE
    )
    metafield_key = models.CharField(
        "metafield",
        max_length=201,
        blank=True,
        validators=[RegexValidator(r"^[\w-]+\.[\w-]+$", "Write the metafield as namespace.key.")],
        help_text="namespace.key of an integer variant metafield, e.g. custom.amazon_qty.",
    )
    use_warehouse = models.BooleanField(
        "Use Warehouse",
        default=False,
        help_text="Count only the chosen locations instead of all active locations.",
    )
    locations = models.ManyToManyField("accounts.Location", blank=True, related_name="profiles")
    missing_stock = models.CharField(
        "when stock is missing",
        max_length=10,
        choices=MissingStockPolicy.choices,
        default=MissingStockPolicy.KEEP,
        help_text="Untracked inventory, an empty or non-numeric metafield, a deleted variant.",
    )
    missing_stock_quantity = models.PositiveIntegerField(
        "quantity to send when stock is missing",
        null=True,
        blank=True,
        validators=[quantity_limit],
    )
    fixed_after_sale = models.CharField(
        "after an Amazon sale (fixed quantity)",
        max_length=10,
        choices=FixedAfterSale.choices,
        default=FixedAfterSale.LOWER,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="one_default_profile",
                violation_error_message="Another profile is already the default.",
            ),
        ]

    def __str__(self):
        return f"{self.name} (default)" if self.is_default else self.name

    def save(self, *args, **kwargs):
        # Becoming the default moves the flag here, in one transaction (the constraint holds).
        with transaction.atomic():
            if self.is_default:
                GlobalProfile.objects.filter(is_default=True).exclude(pk=self.pk).update(
                    is_default=False
                )
            super().save(*args, **kwargs)

    def clean(self):
        validate_mode_quantity(self.mode, self.quantity)
        errors = {}
        if (
            self.pk
            and not self.is_default
            and GlobalProfile.objects.filter(pk=self.pk, is_default=True).exists()
        ):
            errors["is_default"] = (
                "One profile must stay the default: make another profile the default instead "
                "(tick “Default profile” on it; this one then stops being the default)."
            )
        if self.source == StockSource.METAFIELD and not self.metafield_key:
            errors["metafield_key"] = "Name the metafield (namespace.key) that holds the stock."
        if self.missing_stock == MissingStockPolicy.FIXED and self.missing_stock_quantity is None:
            errors["missing_stock_quantity"] = "Say which quantity to send when stock is missing."
        if (
            self.mode == QtyMode.CAP
            and self.quantity is not None
            and self.max_quantity is not None
            and self.max_quantity < self.quantity
        ):
            errors["max_quantity"] = "“Never more than” is below N: raise it or leave it blank."
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        # Ticking "default profile" moves the flag here on save (above): not a clash.
        if self.is_default:
            exclude = {*(exclude or ()), "is_default"}
        super().validate_constraints(exclude=exclude)

    def describe(self) -> str:
        label = QtyMode(self.mode).label.split(" — ")[0]
        return f"{label} {self.quantity}" if self.mode in rules.MODES_WITH_QUANTITY else label

    def to_rule(
        self,
        *,
        location_ids: frozenset[int] | None = None,
        override_mode: str = "",
        override_quantity: int | None = None,
    ) -> rules.Rule:
        """The pure rule for this profile; a listing's override replaces mode and N.

        `location_ids` are the chosen locations (pass them in to avoid a query per call).
        """
        if self.use_warehouse and location_ids is None:
            location_ids = frozenset(self.locations.values_list("pk", flat=True))
        mode = override_mode or self.mode
        quantity = override_quantity if override_mode else self.quantity
        return rules.Rule(
            mode=rules.Mode(mode),
            quantity=quantity,
            percentage=self.percentage,
            keep_one=self.keep_one,
            threshold=self.out_of_stock_threshold,
            max_quantity=self.max_quantity,
            source=rules.Source(self.source),
            metafield_key=self.metafield_key,
            location_ids=location_ids if self.use_warehouse else None,
            missing_stock=rules.MissingStock(self.missing_stock),
            missing_quantity=self.missing_stock_quantity or 0,
        )


def default_profile() -> GlobalProfile | None:
    return GlobalProfile.objects.filter(is_default=True).first()
