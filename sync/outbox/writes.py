"""The outbox's bulk writes for a recompute batch: new pending pushes, replaced targets, and
the listings whose Result or status moved, each in one statement (`accounts.bulk`)."""

from __future__ import annotations

import functools
import json

from django.db import connection

from accounts.bulk import insert_rows, update_from_rows
from selling_lists.models import Listing

from ..models import QtyPush


def insert_pushes(rows: list[tuple], *, reason: str, acting_user, now) -> None:
    """Insert new pending pushes in one statement (`accounts.bulk.insert_rows`): a
    catalogue-wide change writes one per listing. `rows` are (listing id, account id, quantity,
    previous quantity, Shopify stock, trace).

    Every column but the six in `rows` is the same for the whole batch, so it is prepared and
    sent once, from a template push (defaults, reason, user, timestamps).
    """
    if not rows:
        return
    template = QtyPush(
        listing_id=0,
        account_id=0,
        quantity=0,
        reason=reason,
        created_by=acting_user,
        created_at=now,
        next_attempt_at=now,
    )
    varying = [
        "listing_id",
        "account_id",
        "quantity",
        "previous_quantity",
        "shopify_stock",
        "trace",
    ]
    same = {
        f.attname: _db_value(f, f.pre_save(template, True))
        for f in QtyPush._meta.concrete_fields
        if not f.primary_key and f.attname not in varying
    }
    values = [(*row[:5], _json(row[5])) for row in rows]
    insert_rows(QtyPush, varying, values, same=same)


def replace_pushes(rows: list[tuple], *, reason: str, acting_user, now) -> None:
    """A newer target replaces the quantity, stock, trace and reason of pending pushes, in one
    UPDATE. `rows` are (push id, quantity, previous quantity, Shopify stock, trace)."""
    update_from_rows(
        QtyPush,
        ["id", "quantity", "previous_quantity", "shopify_stock", "trace"],
        [(pk, q, told, stock, _json(trace)) for pk, q, told, stock, trace in rows],
        same={
            "reason": reason,
            "created_by_id": acting_user.pk if acting_user is not None else None,
            "updated_at": connection.ops.adapt_datetimefield_value(now),
        },
    )


@functools.lru_cache(maxsize=1024)
def _json(trace: tuple[str, ...]) -> str:
    """A trace as JSON text: a batch's pushes share a few traces, each encoded once."""
    return json.dumps(trace)


def _db_value(field, value):
    """A value as the bulk statements take it: JSON as its text, the rest as Django saves it."""
    if field.get_internal_type() == "JSONField":
        return None if value is None else json.dumps(value)
    return field.get_db_prep_save(value, connection)


def write_recorded(rows: list[tuple], now) -> None:
    """Store what a recompute changed, in one UPDATE: `rows` are (listing id, computed quantity,
    stock missing, status, status message).

    Only rows whose Result or status moved are written (a catalogue-wide re-read changes few).
    """
    stamp = connection.ops.adapt_datetimefield_value(now)
    update_from_rows(
        Listing,
        ["id", "computed_quantity", "stock_missing", "status", "status_message"],
        rows,
        same={"computed_at": stamp, "updated_at": stamp},
    )
