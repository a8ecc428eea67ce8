"""Reads of the sync engine shared by the admin and the tasks: what Amazon would be told.

update_qty_preview(listing_ids)          before → after of "Update Qty" and rule changes
profile_preview(form, profile=...)       the "Result" preview of a Global Profile form
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django import forms

from profiles.models import GlobalProfile
from profiles.rules import Rule, Source, StockSnapshot, compute
from selling_lists.models import Listing
from selling_lists.selectors import listings_with_stock

from .outbox.decide import sync_block
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
    listings = list(
        Listing.objects.filter(pk__in=list(listing_ids))
        .select_related("selling_list__profile", "amazon_account", "variant__product")
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


# --- the Global Profile "Result" preview -------------------------------------------------------

SAMPLE_STOCKS = (0, 1, 5, 10, 20)
LINKED_SAMPLE_SIZE = 10


def profile_preview(form: forms.ModelForm, *, profile: GlobalProfile | None = None) -> dict:
    """Sample stocks and real linked listings, computed with the form's rule (saved or not).

    An invalid form previews nothing and says why, rather than guessing.
    """
    if form.is_bound:
        if not form.is_valid():
            return {"preview_errors": [f"{k}: {' '.join(v)}" for k, v in form.errors.items()]}
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
    return {"samples": samples, "linked": linked, "static": rule.is_static}


def _sample_snapshot(stock: int, rule: Rule) -> StockSnapshot:
    if rule.source == Source.METAFIELD:
        return StockSnapshot(metafields={rule.metafield_key: str(stock)})
    return (
        StockSnapshot(levels={0: stock})
        if rule.location_ids is None
        else StockSnapshot(levels={next(iter(rule.location_ids), 0): stock})
    )
