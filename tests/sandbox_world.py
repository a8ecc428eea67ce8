"""A Shopify shop and an Amazon seller in the sandbox, connected to Stocklink over live HTTP."""

from dataclasses import dataclass

import pytest

from accounts.models import AmazonAccount, ShopifyStore

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


@dataclass
class World:
    store: ShopifyStore
    account: AmazonAccount
    shop: dict  # the sandbox's credentials, as sandbox_seed prints them
    amazon: dict
    stock: list[tuple[str, int]]  # (sku, total available) as seeded
    base_url: str


@pytest.fixture
def sandbox_world(live_server, transactional_db):
    """`world = sandbox_world(variants=10, locations=2, fba_skus={"SKU-000003"})`."""
    from sandbox.amazon.seed import seed_seller
    from sandbox.connect import connect_sandbox
    from sandbox.shopify.seed import seed_shop
    from sync.clients.amazon import clear_token_cache

    clear_token_cache()

    def make(*, variants=10, locations=2, fba_skus=(), marketplaces=(US,), **account_fields):
        shop, stock = seed_shop(variants=variants, locations=locations)
        amazon = seed_seller(
            listings=[
                (sku, max(qty, 0), "AMAZON_NA" if sku in fba_skus else "DEFAULT")
                for sku, qty in stock
            ],
            marketplace_ids=marketplaces,
        )
        base = live_server.url
        store, account = connect_sandbox(shop=shop, amazon=amazon, base_url=base, **account_fields)
        return World(store, account, shop, amazon, stock, base)

    yield make
    clear_token_cache()
