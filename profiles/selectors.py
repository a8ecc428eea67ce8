"""The "Result" preview of a Global Profile: what Amazon would get, and why."""

from django import forms

from .models import GlobalProfile
from .rules import Rule, Source, StockSnapshot, compute

SAMPLE_STOCKS = (0, 1, 5, 10, 20)
LINKED_SAMPLE_SIZE = 10


def profile_preview(form: forms.ModelForm, *, profile: GlobalProfile | None = None) -> dict:
    """Sample stocks and real linked listings, computed with the form's rule (saved or not).

    An invalid form previews nothing and says why, rather than guessing.
    """
    from selling_lists.selectors import compute_results, listings_with_stock

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
