"""Writes on Amazon accounts and Shopify stores that more than one caller needs."""

import logging
from collections.abc import Collection

from django.db import transaction

from .models import ShopifyStore

logger = logging.getLogger(__name__)

# Everything that authenticates us to one particular shop, or lets it authenticate to us.
STORE_SECRET_FIELDS = ("access_token", "client_secret", "webhook_secret", "oauth_token")


@transaction.atomic
def shopify_store_forget_secrets_of_old_domain(
    *, store: ShopifyStore, previous_domain: str, keep: Collection[str] = (), acting_user=None
) -> list[str]:
    """Clear the saved secrets of a store whose `shop_domain` has just changed.

    A token or webhook secret belongs to one shop: kept after the domain changes, it would be
    sent to another shop, and the other shop's webhooks would be checked with it. Secrets
    typed in together with the new domain are named in `keep` and stay. Returns the names
    of the secrets cleared (none when the domain did not change).
    """
    if store.shop_domain == previous_domain:
        return []
    cleared = [name for name in STORE_SECRET_FIELDS if name not in keep and getattr(store, name)]
    if not cleared:
        return []
    for name in cleared:
        setattr(store, name, "")
    update_fields = [*cleared, "updated_at"]
    if "oauth_token" in cleared:
        store.oauth_token_expires_at = None
        update_fields.append("oauth_token_expires_at")
    store.save(update_fields=update_fields)
    logger.warning(
        "Shopify store %s moved from %s to %s by %s: cleared %s",
        store.pk,
        previous_domain,
        store.shop_domain,
        acting_user,
        ", ".join(cleared),
    )
    return cleared
