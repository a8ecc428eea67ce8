"""Connect a sandbox shop and seller to Stocklink: the accounts a merchant would create by hand.

Used by the demo seed, the end-to-end tests and the benchmarks, so that all of them point the
real clients at the sandbox in the same way.
"""

from accounts.models import AmazonAccount, Marketplace, ShopifyStore


def connect_sandbox(
    *,
    shop: dict,
    amazon: dict,
    base_url: str,
    store_name: str = "",
    account_name: str = "",
    **account_fields,
) -> tuple[ShopifyStore, AmazonAccount]:
    """Create the Shopify store and Amazon account for credentials from the sandbox seeds.

    `shop` and `amazon` are what `seed_shop` and `seed_seller` return; `base_url` is where
    Stocklink (and so the sandbox) answers, e.g. http://127.0.0.1:8000.
    """
    base = base_url.rstrip("/")
    domain = shop["shop"]
    store = ShopifyStore.objects.create(
        name=store_name or domain,
        shop_domain=domain,
        access_token=shop["access_token"],
        webhook_secret=shop["client_secret"],  # the app secret that signs its webhooks
        base_url=f"{base}/sandbox/shopify/{domain}",
    )
    account = AmazonAccount.objects.create(
        name=account_name or f"Seller {amazon['seller_id']}",
        seller_id=amazon["seller_id"],
        region="NA",
        lwa_client_id=amazon["client_id"],
        lwa_client_secret=amazon["client_secret"],
        refresh_token=amazon["refresh_token"],
        endpoint=f"{base}/sandbox/amazon",
        token_url=f"{base}/sandbox/amazon/auth/o2/token",
        **account_fields,
    )
    account.marketplaces.set(Marketplace.objects.filter(pk__in=amazon["marketplace_ids"]))
    return store, account
