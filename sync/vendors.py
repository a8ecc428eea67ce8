"""Clients built from our accounts: the one place that maps a model to a vendor client's config."""

from django.utils import timezone

from accounts.models import AmazonAccount, ShopifyStore

from .clients.amazon import AmazonClient, AmazonConfig
from .clients.shopify import ShopifyClient, ShopifyConfig


def amazon_client(account: AmazonAccount, marketplace_id: str | None = None) -> AmazonClient:
    """A client for one seller and marketplace (the account's first one when not given)."""
    if marketplace_id is None:
        first = account.marketplaces.order_by("pk").first()
        marketplace_id = first.pk if first else "ATVPDKIKX0DER"
    return AmazonClient(
        AmazonConfig(
            seller_id=account.seller_id,
            marketplace_id=marketplace_id,
            refresh_token=account.refresh_token,
            client_id=account.lwa_client_id,
            client_secret=account.lwa_client_secret,
            region=account.region,
            endpoint=account.endpoint,
            token_url=account.token_url,
        )
    )


def shopify_client(store: ShopifyStore) -> ShopifyClient:
    """A client for one shop; a client-credentials token it obtains is kept on the store."""
    uses_grant = store.auth_method == ShopifyStore.AuthMethod.CLIENT_CREDENTIALS

    def keep_token(token: str, expires_at) -> None:
        ShopifyStore.objects.filter(pk=store.pk).update(
            oauth_token=token, oauth_token_expires_at=expires_at
        )

    token_valid = bool(
        uses_grant
        and store.oauth_token
        and store.oauth_token_expires_at
        and store.oauth_token_expires_at > timezone.now()
    )
    return ShopifyClient(
        ShopifyConfig(
            shop_domain=store.shop_domain,
            access_token="" if uses_grant else store.access_token,
            client_id=store.client_id if uses_grant else "",
            client_secret=store.client_secret if uses_grant else "",
            api_version=store.api_version,
            base_url=store.base_url,
        ),
        token=store.oauth_token if token_valid else None,
        token_expires_at=store.oauth_token_expires_at if token_valid else None,
        on_token=keep_token if uses_grant else None,
    )
