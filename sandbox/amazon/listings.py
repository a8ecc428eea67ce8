"""Listings Items 2021-08-01 behaviour: JSON patches, their validation, delayed apply, item JSON.

Shared by the PATCH endpoint and the JSON_LISTINGS_FEED processor, so both change listings
the same way. Rules follow the reference (shared/reference/amazon-sp-api.md §1):
- ``merge`` on /attributes/fulfillment_availability updates the entry of the same channel and
  keeps its other fields (lead time, restock date); ``replace`` drops what it does not repeat;
- a value without ``fulfillment_channel_code``, a camelCase path, a negative or non-integer
  quantity, or a path that is not a top-level attribute make the submission INVALID (200);
- patching DEFAULT onto an FBA SKU adds a second entry beside the AFN one, never replaces it.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import FBA_CHANNELS, FBM_CHANNEL, Listing, SandboxSettings

# Issue codes. 90000900 and 90220 are the codes Amazon returns for invalid attributes and
# missing required values; the others are the sandbox's own, documented here.
CODE_INVALID_ATTRIBUTES = "90000900"
CODE_REQUIRED_MISSING = "90220"
CODE_INVALID_VALUE = "90244"
CODE_PRODUCT_TYPE_MISMATCH = "90000901"
CODE_UNSUPPORTED_OP = "90000902"
CODE_SKU_NOT_FOUND = "90000903"

OPS = ("add", "replace", "merge", "delete")
INCLUDED_DATA = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
ATTRIBUTES_PREFIX = "/attributes/"
_SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")
CURRENCIES = {
    "ATVPDKIKX0DER": "USD",
    "A2EUQ1WTGCTBG2": "CAD",
    "A1AM78C64UM0Y8": "MXN",
    "A1F83G8C2ARO7P": "GBP",
    "A1VC38T7YXB528": "JPY",
    "A39IBJ37TRP1C6": "AUD",
}


def iso(dt: datetime) -> str:
    """Amazon's timestamp format: UTC with a Z."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def issue(code: str, message: str, attribute: str | None = None, severity="ERROR") -> dict:
    """An ``Issue`` as the Listings Items model defines it."""
    found = {
        "code": code,
        "message": message,
        "severity": severity,
        "categories": ["INVALID_ATTRIBUTE"] if attribute else [],
    }
    if attribute:
        found["attributeNames"] = [attribute]
    return found


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_fulfillment_entry(entry: object) -> list[dict]:
    name = "fulfillment_availability"
    if not isinstance(entry, dict):
        return [issue(CODE_INVALID_VALUE, f"Each '{name}' value must be an object.", name)]
    found = []
    channel = entry.get("fulfillment_channel_code")
    if not isinstance(channel, str) or not channel:
        found.append(
            issue(
                CODE_REQUIRED_MISSING,
                "'fulfillment_channel_code' is required but not supplied.",
                name,
            )
        )
    elif channel != FBM_CHANNEL and channel not in FBA_CHANNELS:
        found.append(
            issue(
                CODE_INVALID_VALUE,
                f"The value '{channel}' is not valid for 'fulfillment_channel_code'.",
                name,
            )
        )
    for key in ("quantity", "lead_time_to_ship_max_days"):
        if key not in entry:
            continue
        value = entry[key]
        if not _is_int(value):
            found.append(
                issue(
                    CODE_INVALID_VALUE,
                    f"The value '{value}' for '{key}' in '{name}' must be an integer.",
                    name,
                )
            )
        elif value < 0:
            found.append(
                issue(
                    CODE_INVALID_VALUE,
                    f"The value '{value}' for '{key}' in '{name}' is below the minimum "
                    "allowed value '0'.",
                    name,
                )
            )
    return found


def validate_patches(listing: Listing, product_type: str, patches: list) -> list[dict]:
    """Everything that makes Amazon answer INVALID; empty when the submission is acceptable."""
    found = []
    if product_type not in (listing.product_type, "PRODUCT"):
        found.append(
            issue(
                CODE_PRODUCT_TYPE_MISMATCH,
                f"The product type '{product_type}' does not match the product type "
                f"'{listing.product_type}' of this listing.",
            )
        )
    for patch in patches:
        if not isinstance(patch, dict):
            found.append(issue(CODE_INVALID_VALUE, "Each patch must be a JSON object."))
            continue
        op, path = patch.get("op"), patch.get("path")
        if op not in OPS:
            found.append(issue(CODE_UNSUPPORTED_OP, f"The patch operation '{op}' is not valid."))
            continue
        if not isinstance(path, str) or not path.startswith(ATTRIBUTES_PREFIX):
            found.append(
                issue(
                    CODE_INVALID_ATTRIBUTES,
                    f"The path '{path}' is not supported. Patches must target a top-level "
                    "attribute, such as /attributes/fulfillment_availability.",
                )
            )
            continue
        name = path[len(ATTRIBUTES_PREFIX) :]
        if "/" in name:
            found.append(
                issue(
                    CODE_INVALID_ATTRIBUTES,
                    f"The path '{path}' is not supported: only top-level attributes can be "
                    "patched.",
                    name.split("/", 1)[0],
                )
            )
            continue
        if not _SNAKE_CASE.fullmatch(name):
            found.append(
                issue(
                    CODE_INVALID_ATTRIBUTES, f"The provided attributes are invalid: {name}.", name
                )
            )
            continue
        value = patch.get("value")
        if op == "delete" and value is None:
            continue
        if not isinstance(value, list) or not value:
            found.append(
                issue(
                    CODE_INVALID_VALUE, f"The value for '{name}' must be a non-empty array.", name
                )
            )
            continue
        if name == "fulfillment_availability":
            for entry in value:
                found.extend(_validate_fulfillment_entry(entry))
        elif not all(isinstance(entry, dict) for entry in value):
            found.append(issue(CODE_INVALID_VALUE, f"Each '{name}' value must be an object.", name))
    return found


def _entry_key(name: str, entry: dict) -> object:
    if name == "fulfillment_availability":
        return entry.get("fulfillment_channel_code")
    return (entry.get("marketplace_id"), entry.get("language_tag"))


def apply_patches(listing: Listing, attributes: dict, patches: list) -> dict:
    """The attributes after applying valid ``patches`` (the input is not modified)."""
    result = copy.deepcopy(attributes)
    for patch in patches:
        name = patch["path"][len(ATTRIBUTES_PREFIX) :]
        op = patch["op"]
        value = [
            {**entry, "marketplace_id": entry.get("marketplace_id", listing.marketplace_id)}
            if name == "fulfillment_availability"
            else dict(entry)
            for entry in copy.deepcopy(patch.get("value") or [])
        ]
        current = result.get(name, [])
        if op == "merge":
            merged = list(current)
            for entry in value:
                key = _entry_key(name, entry)
                for existing in merged:
                    if _entry_key(name, existing) == key:
                        existing.update(entry)
                        break
                else:
                    merged.append(entry)
            result[name] = merged
        elif op in ("replace", "add"):
            result[name] = value
        elif op == "delete":
            if patch.get("value") is None:
                result[name] = []
            else:
                keys = {_entry_key(name, entry) for entry in value}
                result[name] = [e for e in current if _entry_key(name, e) not in keys]
        if name == "fulfillment_availability" and listing.is_fba:
            # Amazon keeps the AFN entry of an FBA SKU whatever is patched beside it.
            kept = {e.get("fulfillment_channel_code") for e in result[name]}
            afn = [
                e
                for e in current
                if e.get("fulfillment_channel_code") in FBA_CHANNELS
                and e.get("fulfillment_channel_code") not in kept
            ]
            result[name] = afn + result[name]
        if not result[name]:
            del result[name]
    return result


def set_attributes(listing: Listing, attributes: dict) -> None:
    """Make ``attributes`` live: what GET shows, and the FBM quantity Amazon sells from."""
    listing.attributes = attributes
    if not listing.is_fba:
        for entry in attributes.get("fulfillment_availability", []):
            if entry.get("fulfillment_channel_code") == FBM_CHANNEL and "quantity" in entry:
                listing.quantity = entry["quantity"]
    listing.pending_attributes = None
    listing.apply_after = None
    listing.updated_at = timezone.now()


@dataclass
class Submission:
    status: str  # ACCEPTED, INVALID or VALID (preview)
    submission_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    issues: list[dict] = field(default_factory=list)


def submit_patches(
    *,
    listing: Listing,
    product_type: str,
    patches: list,
    preview: bool = False,
    knobs: SandboxSettings | None = None,
) -> Submission:
    """Validate and (unless previewing) apply or schedule patches for one listing.

    With the apply-delay knob on, the change is kept in ``pending_attributes`` and GET keeps
    showing the old values until ``apply_after``: ACCEPTED is not applied.
    """
    issues = validate_patches(listing, product_type, patches)
    if issues:
        return Submission(status="INVALID", issues=issues)
    if preview:
        return Submission(status="VALID")
    knobs = knobs or SandboxSettings.load()
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        apply_due(locked)
        base = (
            locked.pending_attributes
            if locked.pending_attributes is not None
            else locked.attributes
        )
        new_attributes = apply_patches(locked, base, patches)
        if knobs.apply_delay_seconds > 0:
            locked.pending_attributes = new_attributes
            locked.apply_after = timezone.now() + timedelta(seconds=knobs.apply_delay_seconds)
        else:
            set_attributes(locked, new_attributes)
        locked.save()
    listing.refresh_from_db()
    return Submission(status="ACCEPTED")


def apply_due(listing: Listing) -> bool:
    """Apply a listing's pending change if its time has come (no save). True if applied."""
    if listing.pending_attributes is not None and listing.apply_after <= timezone.now():
        set_attributes(listing, listing.pending_attributes)
        return True
    return False


def apply_due_changes(listings: QuerySet[Listing] | None = None) -> int:
    """Apply every pending change whose delay has passed; returns how many listings changed."""
    qs = Listing.objects.all() if listings is None else listings
    due = qs.filter(pending_attributes__isnull=False, apply_after__lte=timezone.now())
    changed = 0
    for listing_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            listing = Listing.objects.select_for_update().get(pk=listing_id)
            if apply_due(listing):
                listing.save()
                changed += 1
    return changed


def item_json(listing: Listing, included: list[str]) -> dict:
    """The ``Item`` of getListingsItem with the requested ``includedData`` sets."""
    item: dict = {"sku": listing.sku}
    mp = listing.marketplace_id
    if "summaries" in included:
        summary = {
            "marketplaceId": mp,
            "asin": listing.asin,
            "productType": listing.product_type,
            "conditionType": "new_new",
            "status": listing.statuses(),
            "itemName": listing.item_name,
            "createdDate": iso(listing.created_at),
            "lastUpdatedDate": iso(listing.updated_at),
        }
        item["summaries"] = [summary]
    if "attributes" in included:
        item["attributes"] = listing.attributes
    if "issues" in included:
        item["issues"] = listing.issues
    if "offers" in included:
        item["offers"] = [
            {
                "marketplaceId": mp,
                "offerType": "B2C",
                "price": {"currencyCode": CURRENCIES.get(mp, "EUR"), "amount": f"{listing.price}"},
            }
        ]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = listing.fulfillment_availability()
    if "relationships" in included:
        item["relationships"] = [{"marketplaceId": mp, "relationships": []}]
    if "productTypes" in included:
        item["productTypes"] = [{"marketplaceId": mp, "productType": listing.product_type}]
    # "procurement" is vendor-only: sellers' listings have none, so it is left out.
    return item


def initial_attributes(
    *, marketplace_id: str, item_name: str, quantity: int, channel: str, lead_time: int = 2
) -> dict:
    """Attributes of a freshly created listing, in Amazon's attribute format."""
    entry: dict = {"fulfillment_channel_code": channel, "marketplace_id": marketplace_id}
    if channel == FBM_CHANNEL:
        entry.update(quantity=quantity, lead_time_to_ship_max_days=lead_time)
    return {
        "item_name": [
            {"value": item_name, "language_tag": "en_US", "marketplace_id": marketplace_id}
        ],
        "condition_type": [{"value": "new_new", "marketplace_id": marketplace_id}],
        "fulfillment_availability": [entry],
    }
