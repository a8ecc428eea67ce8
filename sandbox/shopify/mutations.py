"""The mutations Stocklink sends: inventory writes, webhook subscriptions, bulk queries.

Inventory writes follow the 2026-04+ rules: `@idempotent(key:)` is mandatory (a request
without it is refused), every change must carry `changeFromQuantity` (a value, or null to opt
out of the compare-and-set), and a replay with the same key and input returns the first result
without applying anything again.
"""

import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from graphql import GraphQLError, get_directive_values

from . import gids
from .models import AdjustmentGroup, BulkOperation, InventoryLevel, Location, Variant
from .models import WebhookSubscription as Subscription
from .resolvers import resolves
from .schema import admin_schema

# Reasons Shopify accepts for quantity changes (the documented list).
REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}
WRITABLE_NAMES = {"available", "on_hand"}
QUANTITY_LIMIT = 1_000_000_000
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
MAX_CONCURRENT_BULK = 5  # per shop and type, from 2026-01


def _idempotency_key(info) -> str:
    directive = admin_schema().get_directive("idempotent")
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    if not values or not values.get("key"):
        # Mandatory from 2026-04; Shopify's schema does not mark it required, so it is a
        # runtime error, not a validation one.
        raise GraphQLError(
            f"The @idempotent directive is required for the {info.field_name} mutation "
            '(API version 2026-04 and later). Add @idempotent(key: "<unique key>").',
            nodes=info.field_nodes,
            extensions={"code": "BAD_REQUEST"},
        )
    return values["key"]


def _require_change_from(info, rows: list[dict], list_name: str):
    for index, row in enumerate(rows):
        if "changeFromQuantity" not in row:
            raise GraphQLError(
                f"input.{list_name}[{index}].changeFromQuantity must be provided "
                "(an integer, or null to skip the check) from API version 2026-04.",
                nodes=info.field_nodes,
                extensions={"code": "BAD_REQUEST"},
            )


def _fingerprint(mutation: str, arguments: dict) -> str:
    canonical = json.dumps({"mutation": mutation, "input": arguments}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _error(code, field, message):
    return {"code": code, "field": [str(part) for part in field], "message": message}


def _payload(group: AdjustmentGroup) -> dict:
    return {
        "inventoryAdjustmentGroup": None if group.user_errors else group,
        "userErrors": group.user_errors,
    }


def _common_errors(input_: dict) -> list[dict]:
    errors = []
    if input_["reason"] not in REASONS:
        errors.append(
            _error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
        )
    uri = input_.get("referenceDocumentUri")
    if uri is not None and not _URI.match(uri):
        errors.append(
            _error(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "The specified reference document is invalid.",
            )
        )
    return errors


def _lookup_level(shop, row: dict, path: list, errors: list, codes: dict):
    """The level a change targets (locked for update), or None with a user error added."""
    variant_pk = gids.pk_of(row["inventoryItemId"], "InventoryItem")
    variant = Variant.objects.filter(shop=shop, pk=variant_pk).first() if variant_pk else None
    if variant is None:
        errors.append(
            _error(
                "INVALID_INVENTORY_ITEM",
                [*path, "inventoryItemId"],
                "The specified inventory item could not be found.",
            )
        )
        return None
    location_pk = gids.pk_of(row["locationId"], "Location")
    location = Location.objects.filter(shop=shop, pk=location_pk).first() if location_pk else None
    if location is None:
        errors.append(
            _error(
                "INVALID_LOCATION",
                [*path, "locationId"],
                "The specified location could not be found.",
            )
        )
        return None
    if not variant.tracked:
        errors.append(
            _error(
                codes["untracked"],
                [*path, "inventoryItemId"],
                "The specified inventory item is not tracked, so its quantities cannot change.",
            )
        )
        return None
    level = (
        InventoryLevel.objects.select_for_update()
        .select_related("location", "variant")
        .filter(variant=variant, location=location)
        .first()
    )
    if level is None:
        errors.append(
            _error(
                "ITEM_NOT_STOCKED_AT_LOCATION",
                [*path, "locationId"],
                "The specified inventory item is not stocked at the location.",
            )
        )
    return level


def _current(level: InventoryLevel, name: str) -> int:
    return level.available if name == "available" else level.on_hand


def _apply(level: InventoryLevel, name: str, new_value: int) -> list[dict]:
    """Set quantity `name` and return the changes it makes (available moves on_hand with it)."""
    delta = new_value - _current(level, name)
    level.available += delta  # committed stays; on_hand = available + committed follows
    level.updated_at = timezone.now()
    level.save()
    base = {"item": level.variant_id, "location": level.location_id, "ledgerDocumentUri": None}
    return [
        {**base, "name": "available", "delta": delta, "quantityAfterChange": level.available},
        {**base, "name": "on_hand", "delta": delta, "quantityAfterChange": level.on_hand},
    ]


def _run_inventory_mutation(info, mutation: str, input_: dict, list_name: str, compute):
    """Shared frame of both inventory mutations: idempotency, validation, all-or-nothing.

    `compute(level, row, current)` returns the new quantity for one row.
    """
    shop = info.context.shop
    key = _idempotency_key(info)
    rows = input_[list_name]
    _require_change_from(info, rows, list_name)
    fingerprint = _fingerprint(mutation, input_)
    try:
        with transaction.atomic():
            previous = AdjustmentGroup.objects.filter(shop=shop, idempotency_key=key).first()
            if previous is not None:
                if previous.mutation != mutation or previous.fingerprint != fingerprint:
                    return {
                        "inventoryAdjustmentGroup": None,
                        "userErrors": [
                            _error(
                                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                                [],
                                "The idempotency key was already used with different parameters.",
                            )
                        ],
                    }
                return _payload(previous)  # a replay: same result, nothing applied again

            name = input_["name"]
            errors = _common_errors(input_)
            codes = {
                "untracked": "NON_MUTABLE_INVENTORY_ITEM",
            }
            if name not in WRITABLE_NAMES:
                code = "INVALID_QUANTITY_NAME" if list_name == "changes" else "INVALID_NAME"
                errors.append(_error(code, ["input", "name"], "The quantity name is invalid."))
            targets = []
            seen = set()
            for index, row in enumerate(rows):
                path = ["input", list_name, index]
                level = _lookup_level(shop, row, path, errors, codes)
                if level is None:
                    continue
                if list_name == "quantities":
                    pair = (level.variant_id, level.location_id)
                    if pair in seen:
                        errors.append(
                            _error(
                                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                                [*path],
                                "The combination of inventoryItemId and locationId must be unique.",
                            )
                        )
                        continue
                    seen.add(pair)
                if name in WRITABLE_NAMES:
                    current = _current(level, name)
                    expected = row.get("changeFromQuantity")
                    if expected is not None and expected != current:
                        errors.append(
                            _error(
                                "CHANGE_FROM_QUANTITY_STALE",
                                [*path, "changeFromQuantity"],
                                "The specified compare quantity does not match the current "
                                "quantity.",
                            )
                        )
                        continue
                    new_value = compute(level, row, current)
                    if list_name == "quantities" and row["quantity"] < 0 and name == "on_hand":
                        errors.append(
                            _error(
                                "INVALID_QUANTITY_NEGATIVE",
                                [*path, "quantity"],
                                "The quantity can't be negative.",
                            )
                        )
                    elif new_value > QUANTITY_LIMIT:
                        errors.append(
                            _error(
                                "INVALID_QUANTITY_TOO_HIGH",
                                [*path],
                                f"The quantity can't be higher than {QUANTITY_LIMIT:,}.",
                            )
                        )
                    elif new_value < -QUANTITY_LIMIT:
                        errors.append(
                            _error(
                                "INVALID_QUANTITY_TOO_LOW",
                                [*path],
                                f"The quantity can't be lower than {-QUANTITY_LIMIT:,}.",
                            )
                        )
                    else:
                        targets.append((level, row))

            changes = []
            if not errors:
                # All rows are valid: apply them in order (a level may appear twice in an adjust).
                for level, row in targets:
                    level.refresh_from_db(fields=["available", "committed"])
                    changes += _apply(level, name, compute(level, row, _current(level, name)))
            group = AdjustmentGroup.objects.create(
                shop=shop,
                mutation=mutation,
                idempotency_key=key,
                fingerprint=fingerprint,
                reason=input_["reason"],
                reference_document_uri=input_.get("referenceDocumentUri") or "",
                changes=changes,
                user_errors=errors,
            )
            return _payload(group)
    except IntegrityError:
        # Another request with this key committed first.
        return {
            "inventoryAdjustmentGroup": None,
            "userErrors": [
                _error(
                    "IDEMPOTENCY_CONCURRENT_REQUEST",
                    [],
                    "A request with this idempotency key is already in progress.",
                )
            ],
        }


@resolves("Mutation", "inventoryAdjustQuantities")
def inventory_adjust_quantities(_, info, input):
    return _run_inventory_mutation(
        info,
        "inventoryAdjustQuantities",
        input,
        "changes",
        lambda level, row, current: current + row["delta"],
    )


@resolves("Mutation", "inventorySetQuantities")
def inventory_set_quantities(_, info, input):
    return _run_inventory_mutation(
        info,
        "inventorySetQuantities",
        input,
        "quantities",
        lambda level, row, current: row["quantity"],
    )


# --- webhook subscriptions -------------------------------------------------------------------


@resolves("Mutation", "webhookSubscriptionCreate")
def webhook_subscription_create(_, info, topic, webhookSubscription):
    shop = info.context.shop
    uri = (webhookSubscription.get("uri") or "").strip()
    field = ["webhookSubscription", "uri"]
    if not uri:
        return {"webhookSubscription": None, "userErrors": [_user(field, "Address can't be blank")]}
    if not re.match(r"^https?://[^\s/]+", uri):
        return {
            "webhookSubscription": None,
            "userErrors": [
                _user(field, "Address is invalid (the sandbox delivers over HTTP(S) only)")
            ],
        }
    if Subscription.objects.filter(shop=shop, topic=topic, uri=uri).exists():
        return {
            "webhookSubscription": None,
            "userErrors": [_user(field, "Address for this topic has already been taken")],
        }
    subscription = Subscription.objects.create(
        shop=shop,
        topic=topic,
        uri=uri,
        format=webhookSubscription.get("format") or "JSON",
        name=webhookSubscription.get("name") or "",
    )
    return {"webhookSubscription": subscription, "userErrors": []}


@resolves("Mutation", "webhookSubscriptionDelete")
def webhook_subscription_delete(_, info, id):
    pk = gids.pk_of(id, "WebhookSubscription")
    deleted, _ = Subscription.objects.filter(shop=info.context.shop, pk=pk).delete()
    if not deleted:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [_user(["id"], "Webhook subscription does not exist")],
        }
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}


def _user(field, message):
    return {"field": field, "message": message}


# --- bulk operations -------------------------------------------------------------------------


@resolves("Mutation", "bulkOperationRunQuery")
def bulk_operation_run_query(_, info, query, groupObjects=False):
    from .bulk import check_bulk_query
    from .tasks import run_bulk_operation

    shop = info.context.shop
    problem = check_bulk_query(query)
    if problem:
        return {
            "bulkOperation": None,
            "userErrors": [{"code": "INVALID", "field": ["query"], "message": problem}],
        }
    running = BulkOperation.objects.filter(
        shop=shop,
        type="QUERY",
        status__in=[BulkOperation.Status.CREATED, BulkOperation.Status.RUNNING],
    ).count()
    if running >= MAX_CONCURRENT_BULK:
        return {
            "bulkOperation": None,
            "userErrors": [
                {
                    "code": "LIMIT_REACHED",
                    "field": None,
                    "message": f"A shop can run at most {MAX_CONCURRENT_BULK} bulk query "
                    "operations at a time.",
                }
            ],
        }
    with transaction.atomic():
        operation = BulkOperation.objects.create(shop=shop, query=query)
        run_bulk_operation.delay_on_commit(operation.pk)
    # The answer shows the operation as created, as Shopify's does; the status moves on later.
    return {"bulkOperation": operation, "userErrors": []}


@resolves("Mutation", "bulkOperationCancel")
def bulk_operation_cancel(_, info, id):
    operation = BulkOperation.objects.filter(
        shop=info.context.shop, pk=gids.pk_of(id, "BulkOperation")
    ).first()
    if operation is None:
        return {
            "bulkOperation": None,
            "userErrors": [_user(["id"], "Bulk operation does not exist")],
        }
    if operation.status in (BulkOperation.Status.CREATED, BulkOperation.Status.RUNNING):
        operation.status = BulkOperation.Status.CANCELED
        operation.completed_at = timezone.now()
        operation.save(update_fields=["status", "completed_at"])
    return {"bulkOperation": operation, "userErrors": []}
