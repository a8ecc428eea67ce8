"""A sandbox shop and seller connected to Stocklink as the demo connects them, for the drivers
that run inside a benchmark's stack (Django set up, the web server answering)."""

US = "ATVPDKIKX0DER"


def connect_world(*, variants: int, domain: str, bulk: bool | None = None, webhooks: bool = False):
    """Seed `variants` SKUs at one location, connect them, import, link by SKU; (store, account)."""
    from django.conf import settings

    from profiles.models import default_profile
    from sandbox.amazon.seed import seed_seller
    from sandbox.connect import connect_sandbox
    from sandbox.shopify.seed import seed_shop
    from selling_lists.models import SellingList
    from sync.inbound.catalogue import catalogue_import
    from sync.inbound.webhooks import webhooks_subscribe
    from sync.linking import selling_list_link_by_sku

    shop, stock = seed_shop(variants=variants, locations=1, shop=domain)
    amazon = seed_seller(
        listings=[(sku, max(qty, 0), "DEFAULT") for sku, qty in stock], marketplace_ids=(US,)
    )
    store, account = connect_sandbox(
        shop=shop,
        amazon=amazon,
        base_url=settings.STOCKLINK_BASE_URL,
        store_name="Bench shop",
        account_name="Bench seller",
    )
    catalogue_import(store=store, bulk=bulk)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=account,
        marketplace_id=US,
        shopify_store=store,
        profile=default_profile(),
    )
    selling_list_link_by_sku(selling_list=selling_list)
    if webhooks:
        webhooks_subscribe(store=store)
    return store, account
