"""The Result of listings: their rule and stock through the pure quantity rule, in bulk.

Every Result shown or sent carries the oversell guard: Amazon order quantities not yet taken
off in Shopify are subtracted (`sync.orders.selectors.reserved_by_variant`).
"""

from collections import defaultdict
from collections.abc import Sequence

from accounts.selectors import stock_snapshots
from profiles.models import GlobalProfile
from profiles.rules import Result, Rule, StockSnapshot, compute
from selling_lists.models import Listing

from ..orders.selectors import reserved_by_variant


def profile_location_ids(profile_ids) -> dict[int, frozenset[int]]:
    """The chosen locations of each profile, in one query."""
    chosen: dict[int, set[int]] = defaultdict(set)
    through = GlobalProfile.locations.through
    for profile_id, location_id in through.objects.filter(
        globalprofile_id__in=set(profile_ids)
    ).values_list("globalprofile_id", "location_id"):
        chosen[profile_id].add(location_id)
    return {pk: frozenset(chosen.get(pk, ())) for pk in set(profile_ids)}


def listing_rule(listing: Listing, location_ids: frozenset[int] | None = None) -> Rule:
    """The effective rule of a listing: its own override, else its Selling List's profile."""
    return listing.selling_list.profile.to_rule(
        location_ids=location_ids,
        override_mode=listing.override_mode,
        override_quantity=listing.override_quantity,
    )


def compute_results(
    listings: Sequence[Listing],
    *,
    reserved: dict[int, int] | None = None,
    location_overrides: dict[int, frozenset[int]] | None = None,
) -> dict[int, tuple[Rule, Result]]:
    """Rule and Result of each listing, in a constant number of queries.

    The listings must come with `selling_list__profile` loaded (see `listings_with_stock`).
    `location_overrides` replaces a profile's saved locations (the preview of an unsaved form).
    `reserved` defaults to the Amazon order quantities not yet taken off in Shopify, so every
    Result shown or sent carries the oversell guard.
    """
    if reserved is None:
        reserved = reserved_by_variant(lst.variant_id for lst in listings if lst.variant_id)
    lists = {lst.selling_list_id: lst.selling_list for lst in listings}  # a handful
    profiles = {sl.profile_id: sl.profile for sl in lists.values()}
    locations = profile_location_ids(profiles) | (location_overrides or {})
    keys = {p.metafield_key for p in profiles.values() if p.metafield_key}
    snapshots = stock_snapshots(
        [lst.variant_id for lst in listings if lst.variant_id],
        metafield_keys=keys,
        reserved=reserved,
    )
    gone = StockSnapshot(exists=False)
    results = {}
    rules: dict[tuple, Rule] = {}  # a batch shares a few rules: build each once
    # ... and a few snapshots (`stock_snapshots` shares equal ones): compute each pair once.
    computed: dict[tuple[int, int], Result] = {}
    for listing in listings:
        key = (listing.selling_list_id, listing.override_mode, listing.override_quantity)
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = listing_rule(listing, locations[listing.selling_list.profile_id])
        snapshot = snapshots.get(listing.variant_id, gone) if listing.variant_id else gone
        pair = (id(rule), id(snapshot))
        result = computed.get(pair)
        if result is None:
            result = computed[pair] = compute(snapshot, rule)
        results[listing.pk] = (rule, result)
    return results
