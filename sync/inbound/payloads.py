"""Reading a signed webhook's body and headers into what `WebhookEvent` can store.

    parse_payload(raw_body)        the JSON object, storable on SQLite and PostgreSQL, or ValueError
    parse_triggered_at(header)     X-Shopify-Triggered-At as an aware UTC datetime, or None

Hostile input raises ValueError (or RecursionError), never anything a database refuses later
(docs/security.md, "Webhooks").
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# Shopify's payloads nest a few levels; deeper is refused before it reaches the database.
MAX_JSON_DEPTH = 64
# PostgreSQL's jsonb refuses \u0000 and no database stores a lone surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def parse_payload(raw_body: bytes) -> dict:
    payload = json.loads(raw_body, parse_constant=_reject_constant, parse_float=_finite_float)
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    return _storable(payload, 0)


def _storable(value, depth: int):
    """The payload with each NUL or lone surrogate in a string replaced by U+FFFD.

    Nothing else changes: the payload is a signal whose ids are numbers, and `events.py`
    re-reads the rest from Shopify, so a delivery is never refused (and retried until Shopify
    drops the subscription) because a product title holds a character no database stores.
    """
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_storable(k, depth + 1): _storable(v, depth + 1) for k, v in value.items()}
    return value


def parse_triggered_at(value: str) -> datetime | None:
    try:
        parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
        if parsed is None:
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed.astimezone(UTC)  # year 1 at +14:00 does not exist in UTC
    except (ValueError, OverflowError):
        return None
