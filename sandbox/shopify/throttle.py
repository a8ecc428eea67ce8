"""The per-shop leaky bucket of GraphQL cost points, kept in the database.

Every web process and worker shares it: each take or refund is one short atomic transaction on
the shop's row (`select_for_update`; SQLite serialises writers with BEGIN IMMEDIATE).
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Shop


def _refill(shop: Shop, now) -> float:
    elapsed = max(0.0, (now - shop.bucket_updated_at).total_seconds())
    return min(float(shop.bucket_size), shop.bucket_available + elapsed * shop.restore_rate)


def _status(shop: Shop, available: float) -> dict:
    return {
        "maximumAvailable": float(shop.bucket_size),
        "currentlyAvailable": int(available),
        "restoreRate": float(shop.restore_rate),
    }


def take(shop_id: int, cost: int) -> tuple[bool, dict]:
    """Charge `cost` points if the bucket holds them: (allowed, throttleStatus)."""
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop_id)
        now = timezone.now()
        available = _refill(shop, now)
        allowed = cost <= available
        if allowed:
            available -= cost
        Shop.objects.filter(pk=shop_id).update(
            bucket_available=available,
            bucket_updated_at=now,
            throttled_requests=F("throttled_requests") + (0 if allowed else 1),
        )
    return allowed, _status(shop, available)


def refund(shop_id: int, points: int) -> dict:
    """Give back what a query was charged beyond its actual cost; the new throttleStatus."""
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop_id)
        now = timezone.now()
        available = min(float(shop.bucket_size), _refill(shop, now) + max(0, points))
        Shop.objects.filter(pk=shop_id).update(bucket_available=available, bucket_updated_at=now)
    return _status(shop, available)


def peek(shop_id: int) -> dict:
    shop = Shop.objects.get(pk=shop_id)
    return _status(shop, _refill(shop, timezone.now()))
