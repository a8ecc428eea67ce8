"""The Result of listings: their rule and stock through the pure quantity rule, in bulk.

Every Result shown or sent carries the oversell guard: Amazon order quantities not yet taken
off in Shopify are subtracted (`sync.orders.selectors.reserved_by_variant`).
"""

from collections import defaultdict
from collections.abc import Sequence

from accounts.selectors import stock_snapshots
from profiles.models import GlobalProfile
from profiles.rules import Result, Rule, StockSnapshot, compute
from selling_lists.models import Listing, SellingList

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
    results = rule_results(
        [
            (lst.selling_list, lst.override_mode, lst.override_quantity, lst.variant_id)
            for lst in listings
        ],
        reserved=reserved,
        location_overrides=location_overrides,
    )
    return {lst.pk: pair for lst, pair in zip(listings, results, strict=True)}


def rule_results(
    inputs: Sequence[tuple[SellingList, str, int | None, int | None]],
    *,
    reserved: dict[int, int] | None = None,
    location_overrides: dict[int, frozenset[int]] | None = None,
) -> list[tuple[Rule, Result]]:
    """`compute_results` for listings given as (Selling List with its profile, override mode,
    override quantity, variant id): the Rule and Result of each, in the same order.

    The recompute's form: its listings are plain rows, and most of a batch shares a few rules
    and a few stock snapshots, so each distinct pair is computed once and shared.
    """
    variant_ids = [row[3] for row in inputs if row[3]]
    if reserved is None:
        reserved = reserved_by_variant(variant_ids)
    lists = {row[0].id: row[0] for row in inputs}.values()  # a handful
    profiles = {sl.profile_id: sl.profile for sl in lists}
    locations = profile_location_ids(profiles) | (location_overrides or {})
    keys = {p.metafield_key for p in profiles.values() if p.metafield_key}
    snapshots = stock_snapshots(variant_ids, metafield_keys=keys, reserved=reserved)
    gone = StockSnapshot(exists=False)
    rules: dict[tuple, Rule] = {}
    computed: dict[tuple[int, int], Result] = {}
    results = []
    for selling_list, mode, quantity, variant_id in inputs:
        key = (selling_list.id, mode, quantity)
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = selling_list.profile.to_rule(
                location_ids=locations[selling_list.profile_id],
                override_mode=mode,
                override_quantity=quantity,
            )
        snapshot = snapshots.get(variant_id, gone) if variant_id else gone
        pair = (id(rule), id(snapshot))
        result = computed.get(pair)
        if result is None:
            result = computed[pair] = compute(snapshot, rule)
        results.append((rule, result))
    return results
