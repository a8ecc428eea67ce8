"""Seed the demo: a sandbox shop and seller, their accounts in Stocklink, profiles, lists, links.

Everything goes through the real clients over HTTP to the sandbox served at STOCKLINK_BASE_URL,
so the web server must be running (scripts/run_demo.sh starts it first). Running it again does
nothing when the demo exists.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ShopifyStore
from profiles.models import GlobalProfile, default_profile
from selling_lists.models import SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.webhooks import webhooks_subscribe
from sync.linking import selling_list_link_by_sku

SHOP = "demo-shop.myshopify.com"
MARKETPLACES = ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")  # United States, Canada

PROFILES = [
    dict(name="Not more than 10", mode="cap", quantity=10),
    dict(name="Keep 2 for Shopify", mode="buffer", quantity=2),
    dict(name="Custom quantity 5", mode="fixed", quantity=5),
    dict(
        name="Half the stock, 0 at or below 1",
        mode="product",
        percentage=50,
        keep_one=True,
        out_of_stock_threshold=1,
    ),
    dict(
        name="Stock from metafield stocklink.amazon_qty",
        mode="product",
        source="metafield",
        metafield_key="stocklink.amazon_qty",
    ),
]


class Command(BaseCommand):
    help = "Seed the demo data through the sandbox (the web server must be running)."

    def add_arguments(self, parser):
        parser.add_argument("--variants", type=int, default=40)
        parser.add_argument("--locations", type=int, default=2)

    def handle(self, *args, variants, locations, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The demo needs the sandbox: set SANDBOX_ENABLED=true.")
        if ShopifyStore.objects.filter(shop_domain=SHOP).exists():
            self.stdout.write("Demo data already present.")
            return
        # The sandbox app is installed only when SANDBOX_ENABLED: import it once that is known.
        from sandbox.amazon.seed import seed_seller
        from sandbox.connect import connect_sandbox
        from sandbox.shopify.seed import seed_shop

        base = settings.STOCKLINK_BASE_URL.rstrip("/")
        shop, stock = seed_shop(variants=variants, locations=locations, shop=SHOP)
        # Every 10th SKU is fulfilled by Amazon (FBA): Stocklink must never push to it.
        amazon = seed_seller(
            listings=[
                (sku, qty if qty > 0 else 0, "AMAZON_NA" if i % 10 == 9 else "DEFAULT")
                for i, (sku, qty) in enumerate(stock)
            ],
            marketplace_ids=MARKETPLACES,
        )
        store, account = connect_sandbox(
            shop=shop,
            amazon=amazon,
            base_url=base,
            store_name="Demo shop",
            account_name="Demo seller (North America)",
        )
        profiles = {
            p["name"]: GlobalProfile.objects.get_or_create(name=p["name"], defaults=p)[0]
            for p in PROFILES
        }

        summary = catalogue_import(store=store)
        self.stdout.write(f"Imported the Shopify catalogue: {summary}.")
        webhooks_subscribe(store=store)
        lists = [
            SellingList.objects.create(
                name="United States — all products",
                amazon_account=account,
                marketplace_id=MARKETPLACES[0],
                shopify_store=store,
                profile=default_profile(),
            ),
            SellingList.objects.create(
                name="Canada — not more than 10",
                amazon_account=account,
                marketplace_id=MARKETPLACES[1],
                shopify_store=store,
                profile=profiles["Not more than 10"],
            ),
        ]
        for selling_list in lists:
            self.stdout.write(
                f"{selling_list}: {selling_list_link_by_sku(selling_list=selling_list)}."
            )
