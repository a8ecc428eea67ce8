"""A recompute batch's reads: its listings as plain rows, and their unsent pushes.

    listing_rows(ids, lock=...)   the listings as plain rows, with their Selling Lists and accounts
    unsent_pushes(ids)            each listing's in-flight quantity and pending push

Every read takes its ids as one array (`accounts.bulk.column_in`), planned from the array's
length whatever the table statistics say: with stale ones, `IN (SELECT unnest(…))` on the push
table became a nested loop that took 196 s for a batch of 10,000 (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections import namedtuple
from typing import NamedTuple

from accounts.bulk import column_in
from accounts.models import AmazonAccount
from selling_lists.models import Listing, SellingList

from ..models import IN_FLIGHT_STATES, PushState, QtyPush

# Every field a decision reads, and no other (each one costs per row at 100,000 rows). The
# last eight (`DECIDED_BY`), with the rule, the Result and what Amazon was told, are all a
# decision depends on: rows equal there share one decision.
_LISTING_FIELDS = (
    "id",
    "variant_id",
    "override_mode",
    "override_quantity",
    "amazon_quantity",
    "last_sent_quantity",
    "sku",
    "selling_list_id",
    "amazon_account_id",
    "fulfillment_channel",
    "paused",
    "status",
    "status_message",
    "stock_missing",
    "computed_quantity",
)
# Positions in such a row by field name: `row[AT.variant_id]`.
AT = namedtuple("ListingFields", _LISTING_FIELDS)(*range(len(_LISTING_FIELDS)))
DECIDED_BY = slice(AT.selling_list_id, None)


class ListingRow:
    """A listing as a plain row: the model's attribute names and `pk`, with its Selling List and
    account attached, and none of a model's construction cost. `decide` reads it as it reads a
    `Listing`. A recompute builds one per distinct decision, not one per listing."""

    def __init__(self, row: tuple, lists: dict, accounts: dict):
        attributes = self.__dict__
        attributes.update(zip(_LISTING_FIELDS, row, strict=True))
        attributes["pk"] = row[0]
        attributes["selling_list"] = lists[self.selling_list_id]
        attributes["amazon_account"] = accounts[self.amazon_account_id]

    def __str__(self):
        return self.sku


class Rows(NamedTuple):
    """A batch's listings: `_LISTING_FIELDS` tuples in id order, their Selling Lists (with
    profile) and accounts by id."""

    rows: list[tuple]
    lists: dict
    accounts: dict


class PendingPush(NamedTuple):
    pk: int
    quantity: int


def listing_rows(ids: list[int], *, lock: bool) -> Rows:
    """The listings with these ids, in id order; `lock` takes their row locks."""
    queryset = Listing.objects.filter(column_in(Listing, "id", ids)).order_by("pk")
    if lock:
        queryset = queryset.select_for_update()
    rows = list(queryset.values_list(*_LISTING_FIELDS))
    return Rows(rows, *_lists_and_accounts(rows)) if rows else Rows([], {}, {})


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
    list_ids = {row[AT.selling_list_id] for row in rows}
    account_ids = {row[AT.amazon_account_id] for row in rows}
    lists = SellingList.objects.select_related("profile").in_bulk(list_ids)
    accounts = AmazonAccount.objects.defer("lwa_client_secret", "refresh_token").in_bulk(
        account_ids
    )
    return lists, accounts
