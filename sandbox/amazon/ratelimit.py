"""Amazon's published usage plans as token buckets shared by every process (database rows).

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request takes
one token or is answered 429 QuotaExceeded. The row is read and written inside one transaction
with ``select_for_update`` (PostgreSQL row lock; SQLite serialises writers because the settings
open transactions IMMEDIATE), so concurrent workers cannot both spend the last token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import RateBucket


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int

    @property
    def header(self) -> str:
        """The value of ``x-amzn-RateLimit-Limit`` (Amazon sends the rate, e.g. "5.0")."""
        return repr(float(self.rate))


# From the official models' "Usage Plan" tables (sandbox/specs/amazon/*.json).
USAGE_PLANS: dict[str, UsagePlan] = {
    "getListingsItem": UsagePlan(5, 10),
    "patchListingsItem": UsagePlan(5, 5),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2, 15),
    "getReportDocument": UsagePlan(0.0167, 15),
    "searchOrders": UsagePlan(0.0056, 20),
}


def take_token(seller_id: str, operation: str, *, now: float | None = None) -> bool:
    """Spend one token of the seller's bucket for ``operation``; False means throttle (429).

    Counts every request, and every refusal in ``RateBucket.throttled_count``.
    """
    plan = USAGE_PLANS[operation]
    now = time.time() if now is None else now
    for _attempt in range(2):
        try:
            with transaction.atomic():
                bucket = (
                    RateBucket.objects.select_for_update()
                    .filter(seller_id=seller_id, operation=operation)
                    .first()
                )
                if bucket is None:
                    # A fresh bucket starts full, as Amazon's do.
                    RateBucket.objects.create(
                        seller_id=seller_id,
                        operation=operation,
                        tokens=plan.burst - 1,
                        refilled_at=now,
                        requests_count=1,
                    )
                    return True
                elapsed = max(now - bucket.refilled_at, 0.0)
                tokens = min(float(plan.burst), bucket.tokens + elapsed * plan.rate)
                allowed = tokens >= 1.0
                bucket.tokens = tokens - 1.0 if allowed else tokens
                bucket.refilled_at = max(now, bucket.refilled_at)
                bucket.requests_count += 1
                if not allowed:
                    bucket.throttled_count += 1
                bucket.save(
                    update_fields=["tokens", "refilled_at", "requests_count", "throttled_count"]
                )
                return allowed
        except IntegrityError:
            # Two processes created the same bucket at once: the loser retries on the row.
            continue
    raise RuntimeError("could not create the rate bucket")  # pragma: no cover


def count_injected_429(seller_id: str, operation: str) -> None:
    """Record a random 429 from the fault knob (kept apart from real throttling)."""
    _count_injected(seller_id, operation, "injected_429_count")


def count_injected_5xx(seller_id: str, operation: str) -> None:
    """Record a random 500/503 from the fault knob: a request that reached Amazon while down."""
    _count_injected(seller_id, operation, "injected_5xx_count")


def _count_injected(seller_id: str, operation: str, counter: str) -> None:
    updated = RateBucket.objects.filter(seller_id=seller_id, operation=operation).update(
        **{counter: F(counter) + 1, "requests_count": F("requests_count") + 1}
    )
    if not updated:
        plan = USAGE_PLANS[operation]
        try:
            RateBucket.objects.create(
                seller_id=seller_id,
                operation=operation,
                tokens=plan.burst,
                refilled_at=time.time(),
                requests_count=1,
                **{counter: 1},
            )
        except IntegrityError:
            _count_injected(seller_id, operation, counter)


def reset_buckets(seller_id: str | None = None) -> None:
    """Forget buckets and counters (all sellers, or one)."""
    qs = RateBucket.objects.all()
    if seller_id is not None:
        qs = qs.filter(seller_id=seller_id)
    qs.delete()
