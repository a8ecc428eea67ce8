"""A recompute batch's reads: its listings as plain rows, and their unsent pushes.

    listing_rows(ids, lock=...)   the listings, with their Selling List and account attached
    unsent_pushes(ids)            each listing's in-flight quantity and pending push

Every read takes its ids as one array (`accounts.bulk.column_in`), planned from the array's
length whatever the table statistics say: with stale ones, `IN (SELECT unnest(…))` on the push
table became a nested loop that took 196 s for a batch of 10,000 (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from accounts.bulk import column_in
from accounts.models import AmazonAccount
from selling_lists.models import Listing, SellingList

from ..models import IN_FLIGHT_STATES, PushState, QtyPush

# Every field a decision reads, and no other (each one costs per row at 100,000 rows).
_LISTING_FIELDS = (
    "id",
    "sku",
    "variant_id",
    "selling_list_id",
    "amazon_account_id",
    "fulfillment_channel",
    "paused",
    "override_mode",
    "override_quantity",
    "status",
    "status_message",
    "stock_missing",
    "computed_quantity",
    "amazon_quantity",
    "last_sent_quantity",
)


class ListingRow:
    """A listing as a plain row: the model's attribute names and `pk`, with its Selling List and
    account attached, and none of a model's construction cost (100,000 of them per large
    recompute). `decide` and `compute_results` read it as they read a `Listing`."""

    @classmethod
    def many(cls, rows: Iterable[tuple], lists: dict, accounts: dict) -> list[ListingRow]:
        """Rows read as `values_list(*_LISTING_FIELDS)`, with their list and account."""
        new, names = object.__new__, _LISTING_FIELDS
        listings = []
        for values in rows:
            listing = new(cls)
            attributes = listing.__dict__ = dict(zip(names, values, strict=True))
            attributes["pk"] = values[0]
            attributes["selling_list"] = lists[attributes["selling_list_id"]]
            attributes["amazon_account"] = accounts[attributes["amazon_account_id"]]
            listings.append(listing)
        return listings

    def __str__(self):
        return self.sku


class PendingPush(NamedTuple):
    pk: int
    quantity: int


def listing_rows(ids: list[int], *, lock: bool) -> list[ListingRow]:
    """The listings with these ids, in id order; `lock` takes their row locks."""
    queryset = Listing.objects.filter(column_in(Listing, "id", ids)).order_by("pk")
    if lock:
        queryset = queryset.select_for_update()
    rows = list(queryset.values_list(*_LISTING_FIELDS))
    return ListingRow.many(rows, *_lists_and_accounts(rows)) if rows else []


def unsent_pushes(ids: list[int]) -> tuple[dict[int, int], dict[int, PendingPush]]:
    """In one query: the quantity of each listing's newest in-flight push, and its pending one."""
    in_flight: dict[int, int] = {}
    pending: dict[int, PendingPush] = {}
    for pk, listing_id, state, quantity, sold in (
        QtyPush.objects.filter(
            column_in(QtyPush, "listing_id", ids),
            state__in=[*IN_FLIGHT_STATES, PushState.PENDING],
        )
        .order_by("pk")
        .values_list("pk", "listing_id", "state", "quantity", "sold_since_sent")
    ):
        if state == PushState.PENDING:
            pending[listing_id] = PendingPush(pk, quantity)
        else:
            # The newest in-flight push wins, less what Amazon sold since it was sent.
            in_flight[listing_id] = max(quantity - sold, 0)
    return in_flight, pending


def _lists_and_accounts(rows: list[tuple]) -> tuple[dict, dict]:
    """The Selling Lists (with profile) and accounts of these rows, from one load of each.

    A batch shares a handful of lists and accounts: building them once, instead of once per
    row through select_related, is most of a large recompute's time. The accounts come without
    their secrets: only the switches are needed, and decrypting costs per object.
    """
    list_at = _LISTING_FIELDS.index("selling_list_id")
    account_at = _LISTING_FIELDS.index("amazon_account_id")
    list_ids = {row[list_at] for row in rows}
    account_ids = {row[account_at] for row in rows}
    lists = SellingList.objects.select_related("profile").in_bulk(list_ids)
    accounts = AmazonAccount.objects.defer("lwa_client_secret", "refresh_token").in_bulk(
        account_ids
    )
    return lists, accounts
