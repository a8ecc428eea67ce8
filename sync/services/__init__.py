"""The sync engine's services (writes). Everything that crosses the wire goes through here.

recompute_listings, apply_inventory_levels   outbox.py: stock → Result → pending pushes
send_pending_pushes, confirm_pushes, poll_feed, release_stale_claims, due_work
                                             pushes.py: pending pushes → Amazon
"""

from .outbox import (
    LevelUpdate,
    RecomputeSummary,
    apply_inventory_levels,
    forget_amazon_side,
    recompute_listings,
)
from .pushes import (
    claim_pushes,
    confirm_pushes,
    drop_blocked_pushes,
    due_work,
    poll_feed,
    release_stale_claims,
    send_pending_pushes,
)

__all__ = [
    "LevelUpdate",
    "RecomputeSummary",
    "apply_inventory_levels",
    "claim_pushes",
    "confirm_pushes",
    "drop_blocked_pushes",
    "forget_amazon_side",
    "due_work",
    "poll_feed",
    "recompute_listings",
    "release_stale_claims",
    "send_pending_pushes",
]
