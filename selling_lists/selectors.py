"""Reads shared by the admin and the sync engine: listings with their stock and their Result."""

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from accounts.models import InventoryLevel

from .models import (
    OUT_OF_SYNC_STATES,
    FulfillmentChannel,
    Listing,
    ListingStatus,
    state_expression,
)


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


def listings_with_state(queryset: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """Listings annotated with `sync_state`: `Listing.state` in SQL, for columns, filters and
    counts.

    FBA, the account's sync switch and a pause win over the stored status, so they show at
    once (docs/convergence.md, "State model").
    """
    queryset = Listing.objects.all() if queryset is None else queryset
    return queryset.annotate(sync_state=state_expression())


# The switches `state_expression` reads before the stored status (DESIGN.md, Switches).
_NOT_FBA = ~Q(fulfillment_channel=FulfillmentChannel.FBA)
_SYNC_ON = Q(amazon_account__inventory_sync_enabled=True)
_RUNNING = Q(paused=False, selling_list__paused=False)


def _sent() -> Q:
    """Listings whose stored status is their state: not FBA, sync on, not paused."""
    return _NOT_FBA & _SYNC_ON & _RUNNING


def state_filter(state: str) -> Q:
    """The listings in `state` as a filter on columns, equal to `sync_state == state`: plain
    column comparisons that the database can plan, where a filter on the CASE annotation
    computes it for every row."""
    if state == ListingStatus.FBA:
        return ~_NOT_FBA
    if state == ListingStatus.SYNC_OFF:
        return _NOT_FBA & ~_SYNC_ON
    if state == ListingStatus.PAUSED:
        return _NOT_FBA & _SYNC_ON & ~_RUNNING
    return _sent() & Q(status=state)


def listings_in_state(state: str, queryset: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """Listings whose state (`Listing.state`) is `state`: the changelist's state filter."""
    queryset = Listing.objects.all() if queryset is None else queryset
    return queryset.filter(state_filter(state))


def listings_out_of_sync(queryset: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """Listings Stocklink sends whose Amazon quantity is not (yet) the Result: pending,
    sending, waiting, failed, held, stock missing, not on Amazon. Never FBA, paused or off.

    Equal to `sync_state in OUT_OF_SYNC_STATES`, as a filter on columns (`state_filter`). No
    index reads the status, so that writing it stays a HOT update (selling_lists 0008)."""
    queryset = Listing.objects.all() if queryset is None else queryset
    return queryset.filter(_sent() & Q(status__in=OUT_OF_SYNC_STATES))


def listings_in_sync(queryset: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """Listings whose Amazon quantity is the Result (state "Linked — in sync")."""
    return listings_in_state(ListingStatus.LINKED, queryset)


def state_counts(queryset: QuerySet[Listing] | None = None) -> dict[str, int]:
    """How many listings are in each state (the dashboard's and the filters' counts)."""
    rows = listings_with_state(queryset).order_by().values("sync_state").annotate(n=Count("pk"))
    return {row["sync_state"]: row["n"] for row in rows}
