"""Reads of the sync engine shared by the admin and the tasks: what Amazon would be told.

update_qty_preview(listing_ids)          before → after of "Update Qty" and rule changes
update_qty_overview(listing_ids, rows=)  the Update Qty page: the rows shown, counts in SQL
profile_preview(form, profile=...)       the "Result" preview of a Global Profile form
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django import forms
from django.db.models import Count, Q, QuerySet

from accounts.bulk import id_set
from profiles.models import GlobalProfile
from profiles.rules import Rule, Source, StockSnapshot, compute
from selling_lists.models import Listing
from selling_lists.selectors import listings_with_stock

from .outbox.decide import blocked_listings, sync_block
from .outbox.results import compute_results


@dataclass(frozen=True)
class PushPreview:
    """One row of the "Update Qty" confirmation page: what Amazon will be told."""

    listing: Listing
    before: int | None  # what Amazon shows (read back, lowered by its own sales)
    after: int | None  # the Result now (None: stock missing, left as it is)
    note: str  # why it will not be sent, or ""


def update_qty_preview(listing_ids: Iterable[int]) -> list[PushPreview]:
    """Before → after of each listing, in a constant number of queries."""
    return _previews(_scope(listing_ids))


def _scope(listing_ids: Iterable[int]) -> QuerySet:
    """The listings as a query of their ids. A query of Listing ids is used as it is (its
    filters, no subquery: PostgreSQL would hash every id to join it back to its own table)."""
    if isinstance(listing_ids, QuerySet) and listing_ids.model is Listing:
        return listing_ids.values_list("pk", flat=True)
    return Listing.objects.filter(pk__in=id_set(set(listing_ids))).values_list("pk", flat=True)


def _previews(scope: QuerySet, limit: int | None = None) -> list[PushPreview]:
    if limit is not None:
        # The first rows' ids from the SKU index, then only those rows with their joins.
        scope = list(scope.order_by("sku")[:limit])
    listings = list(
        Listing.objects.filter(pk__in=scope)
        .select_related("selling_list__profile", "amazon_account", "variant__product")
        .defer("amazon_account__lwa_client_secret", "amazon_account__refresh_token")
        .order_by("sku")
    )
    results = compute_results(listings)  # with the oversell guard's reserved quantities
    rows = []
    for listing in listings:
        _, result = results[listing.pk]
        block = sync_block(listing)
        if block is not None and not block.message:
            note = "FBA — managed by Amazon: not sent."
        elif block is not None:
            note = f"{block.message} Not sent."
        elif result.quantity is None:
            note = f"{result.trace[0]}: Amazon is left as it is."
        else:
            note = ""
        shown = (
            listing.amazon_quantity
            if listing.amazon_quantity is not None
            else listing.last_sent_quantity
        )
        rows.append(PushPreview(listing, shown, result.quantity, note))
    return rows


@dataclass(frozen=True)
class QtyOverview:
    """The Update Qty confirmation page of any number of listings: the first rows, and counts."""

    rows: list[PushPreview]  # the first ones by SKU, computed now
    total: int
    to_send: int  # neither blocked (sync_block) nor flagged stock missing
    sync_off_accounts: list[str]


def update_qty_overview(listing_ids: Iterable[int], *, rows: int) -> QtyOverview:
    """Before → after of the first `rows` listings by SKU, and the counts of all of them, in a
    constant number of queries whatever their number (a Selling List of 100,000).

    The counts come from SQL: blocked is `blocked_listings` (the same answer as `sync_block`);
    stock missing is the flag the last recompute stored, so it may lag a stock change that has
    not been recomputed yet. The rows shown are computed now.
    """
    scope = _scope(listing_ids)
    blocked = blocked_listings()
    counts = scope.aggregate(
        total=Count("pk"),
        blocked=Count("pk", filter=blocked),
        missing=Count("pk", filter=Q(stock_missing=True) & ~blocked),
    )
    sync_off = sorted(
        scope.filter(amazon_account__inventory_sync_enabled=False)
        .order_by()
        .values_list("amazon_account__name", flat=True)
        .distinct()
    )
    return QtyOverview(
        rows=_previews(scope, limit=rows),
        total=counts["total"],
        to_send=counts["total"] - counts["blocked"] - counts["missing"],
        sync_off_accounts=sync_off,
    )


# --- the Global Profile "Result" preview -------------------------------------------------------

SAMPLE_STOCKS = (0, 1, 5, 10, 20)
LINKED_SAMPLE_SIZE = 10


def profile_preview(form: forms.ModelForm, *, profile: GlobalProfile | None = None) -> dict:
    """Sample stocks and real linked listings, computed with the form's rule (saved or not).

    An invalid form previews nothing and says why, rather than guessing.
    """
    if form.is_bound:
        if not form.is_valid():
            return {"preview_errors": _labelled_errors(form)}
        candidate: GlobalProfile = form.save(commit=False)
        location_ids = frozenset(loc.pk for loc in form.cleaned_data.get("locations") or [])
    else:
        candidate = profile or form.instance
        location_ids = (
            frozenset(candidate.locations.values_list("pk", flat=True))
            if candidate.pk
            else frozenset()
        )
    rule = candidate.to_rule(location_ids=location_ids)
    samples = [(stock, compute(_sample_snapshot(stock, rule), rule)) for stock in SAMPLE_STOCKS]

    linked = []
    profile_pk = profile.pk if profile else candidate.pk
    if profile_pk:
        listings = list(
            listings_with_stock()
            .filter(selling_list__profile_id=profile_pk)
            .order_by("sku")[:LINKED_SAMPLE_SIZE]
        )
        for listing in listings:
            # Preview with the candidate rule, not the saved one.
            listing.selling_list.profile = candidate
        results = compute_results(listings, location_overrides={profile_pk: location_ids})
        linked = [(listing, results[listing.pk][1]) for listing in listings]
    return {
        "samples": samples,
        "linked": linked,
        "static": rule.is_static,
        "warnings": profile_warnings(rule),
    }


def _labelled_errors(form: forms.ModelForm) -> list[str]:
    """Each error with the label the merchant sees beside the field (none for the whole form)."""
    errors = []
    for name, messages in form.errors.items():
        field = form.fields.get(name)
        label = f"{field.label}: " if field is not None and name != "__all__" else ""
        errors.extend(f"{label}{message}" for message in messages)
    return errors


def profile_warnings(rule: Rule) -> list[str]:
    """Settings that contradict each other: saved as asked, but worth a second look."""
    warnings = []
    if rule.is_static:
        return warnings
    if rule.threshold is not None and rule.percentage is not None and rule.percentage < 100:
        # The smallest stock that survives the threshold after the percentage.
        survives = next(
            (s for s in range(1, 10_000) if s * rule.percentage // 100 > rule.threshold), None
        )
        if survives is not None and survives > rule.threshold + 1:
            warnings.append(
                f"{rule.percentage}% of the stock, then 0 at or below {rule.threshold}: "
                f"Amazon shows 0 until Shopify has {survives} or more. Is that what you want?"
            )
        if rule.keep_one and rule.threshold >= 1:
            warnings.append(
                "“Never round a positive stock down to 0” has no effect: the threshold "
                f"sends 0 at or below {rule.threshold} anyway."
            )
    if (
        rule.max_quantity is not None
        and rule.threshold is not None
        and rule.max_quantity <= rule.threshold
    ):
        warnings.append(
            f"“Never more than {rule.max_quantity}” is at or below the threshold "
            f"{rule.threshold}: Amazon always gets 0."
        )
    return warnings


def _sample_snapshot(stock: int, rule: Rule) -> StockSnapshot:
    if rule.source == Source.METAFIELD:
        return StockSnapshot(metafields={rule.metafield_key: str(stock)})
    return (
        StockSnapshot(levels={0: stock})
        if rule.location_ids is None
        else StockSnapshot(levels={next(iter(rule.location_ids), 0): stock})
    )
