"""Every setting of the sync engine, read at call time (declared in config/settings/base.py).

Reading `settings` when a value is needed, not when a module is imported, lets a test or an
operator change a value with `override_settings` or the environment, and nothing else.
"""

from datetime import timedelta

from django.conf import settings


def feed_threshold() -> int:
    """Due pushes in one marketplace at or above which they go as one JSON_LISTINGS_FEED."""
    return settings.SYNC_FEED_THRESHOLD


def patch_claim() -> int:
    return settings.SYNC_PATCH_CLAIM


def max_attempts() -> int:
    return settings.SYNC_MAX_ATTEMPTS


def max_checks() -> int:
    return settings.SYNC_MAX_CHECKS


def confirm_delay() -> timedelta:
    return timedelta(seconds=settings.SYNC_CONFIRM_DELAY)


def first_feed_poll() -> timedelta:
    return timedelta(seconds=settings.SYNC_FIRST_FEED_POLL)


def claim_lease() -> timedelta:
    """A claim not renewed for this long belongs to a dead worker: its pushes are sent again.

    A live worker renews its claims every `claim_heartbeat()` (outbound/heartbeat.py).
    """
    return timedelta(seconds=settings.SYNC_CLAIM_LEASE_SECONDS)


def claim_heartbeat() -> float:
    """Seconds between renewals of a worker's claims: a third of the lease."""
    return max(settings.SYNC_CLAIM_LEASE_SECONDS / 3, 0.5)


def max_backoff() -> timedelta:
    """The longest wait before a push that failed for a transient reason is tried again."""
    return timedelta(seconds=settings.SYNC_MAX_BACKOFF_SECONDS)


def circuit_max_probe() -> timedelta:
    """The longest wait between two probes while a seller's circuit is open."""
    return timedelta(seconds=settings.SYNC_CIRCUIT_MAX_PROBE_SECONDS)


def metafield_refresh() -> timedelta:
    """How often metafield-sourced stock is re-read from Shopify."""
    return timedelta(seconds=settings.SYNC_METAFIELD_REFRESH_SECONDS)


def metafield_overlap() -> timedelta:
    """How far before the previous metafield refresh the next one starts reading."""
    return timedelta(seconds=settings.SYNC_METAFIELD_OVERLAP_SECONDS)


def update_qty_bulk_threshold() -> int:
    """Above this many listings, Update Qty re-reads Shopify by one bulk operation per store."""
    return settings.SYNC_UPDATE_QTY_BULK_THRESHOLD


def recompute_batch_size() -> int:
    return settings.SYNC_RECOMPUTE_BATCH_SIZE


def rate_safety() -> float:
    return settings.SYNC_RATE_SAFETY


def rate_max_wait() -> float:
    return settings.SYNC_RATE_MAX_WAIT


def orders_overlap() -> timedelta:
    return timedelta(seconds=settings.SYNC_ORDERS_OVERLAP_SECONDS)


def orders_interval() -> timedelta:
    return timedelta(seconds=settings.SYNC_ORDERS_INTERVAL_SECONDS)


def interactive_timeout() -> float:
    """Seconds a vendor call may take while a person waits for it (Test connection)."""
    return settings.SYNC_INTERACTIVE_TIMEOUT


def redis_url() -> str:
    return settings.REDIS_URL


def base_url() -> str:
    return settings.STOCKLINK_BASE_URL.rstrip("/")


def reconcile_interval() -> float:
    """Seconds between two reconcile passes (beat's schedule, STOCKLINK_RECONCILE_SECONDS)."""
    return float(settings.CELERY_BEAT_SCHEDULE["reconcile"]["schedule"])


def reconcile_stale_after() -> timedelta:
    """A pass still marked running after this long died with its worker: the jobs queue's hard
    time limit kills any task by then."""
    return timedelta(seconds=settings.STOCKLINK_QUEUE_TIME_LIMITS["jobs"][1])
