"""Reads shared by the admin and the sync engine: listings with their stock and their Result."""

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import InventoryLevel

from .models import Listing


def listings_with_stock(queryset: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """Listings with what every list view needs, in one query: profile, variant, Shopify stock.

    `shopify_stock` is `available` summed over the variant's active locations (negatives as 0).
    """
    queryset = Listing.objects.all() if queryset is None else queryset
    stock = (
        InventoryLevel.objects.filter(
            variant=OuterRef("variant"), location__is_active=True, available__gt=0
        )
        .values("variant")
        .annotate(total=Sum("available"))
        .values("total")
    )
    return queryset.select_related(
        "selling_list__profile", "variant__product", "marketplace", "amazon_account"
    ).annotate(shopify_stock=Coalesce(Subquery(stock, output_field=IntegerField()), 0))
