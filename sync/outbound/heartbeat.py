"""Claims are short leases renewed by a heartbeat (docs/convergence.md, "Claims").

A worker that sends holds its pushes in state "sending" with `claimed_at`; while it lives, a
thread renews `claimed_at` every `conf.claim_heartbeat()` seconds (a third of the lease). A
killed worker stops renewing, so its claims lapse within `SYNC_CLAIM_LEASE_SECONDS` and the
next dispatch (every 5 s) puts them back to pending: the listings are free within a minute.

    with claim_heartbeat():      every claim made inside is renewed until the block ends
        pushes_claim(...)
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.db import close_old_connections, connection
from django.utils import timezone

from .. import conf
from ..models import PushState, QtyPush

logger = logging.getLogger(__name__)

_local = threading.local()


def watch(token) -> None:
    """Renew this claim until the enclosing `claim_heartbeat()` ends (no-op outside one)."""
    tokens = getattr(_local, "tokens", None)
    if tokens is not None:
        with _local.lock:
            tokens.add(token)


def renew(tokens) -> int:
    """Move the lease of these claims forward; returns how many pushes it renewed."""
    if not tokens:
        return 0
    return QtyPush.objects.filter(claim_token__in=list(tokens), state=PushState.SENDING).update(
        claimed_at=timezone.now()
    )


@contextmanager
def claim_heartbeat():
    """Renew every claim made in this block from a background thread until it ends."""
    if getattr(_local, "tokens", None) is not None:
        yield  # nested: the outer heartbeat renews these claims too
        return
    tokens: set = set()
    lock = threading.Lock()
    stop = threading.Event()
    _local.tokens, _local.lock = tokens, lock

    def beat() -> None:
        try:
            while not stop.wait(conf.claim_heartbeat()):
                with lock:
                    current = set(tokens)
                try:
                    renew(current)
                except Exception:  # a missed beat is retried; the lease covers two of them
                    logger.warning("Could not renew claims", exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name="claim-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        _local.tokens = None
