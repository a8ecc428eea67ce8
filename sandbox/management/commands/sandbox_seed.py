"""`manage.py sandbox_seed --variants N --locations K [--fba-share 0.1]`

Creates a sandbox Shopify shop and a sandbox Amazon seller with the same SKUs, and prints one
JSON line with the credentials a client needs:
{"shopify": {"shop", "access_token", "client_id", "client_secret"},
 "amazon": {"seller_id", "refresh_token", "client_id", "client_secret", "marketplace_ids"}}
"""

import json
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

FBM, FBA = "DEFAULT", "AMAZON_NA"


class Command(BaseCommand):
    help = "Seed a sandbox Shopify shop and Amazon seller with linked SKUs; print credentials."

    def add_arguments(self, parser):
        parser.add_argument("--variants", type=int, default=50, help="Shopify variants (SKUs).")
        parser.add_argument("--locations", type=int, default=1, help="Shopify locations.")
        parser.add_argument(
            "--fba-share", type=float, default=0.1, help="Share of SKUs fulfilled by Amazon."
        )
        parser.add_argument("--shop", default=None, help="Shop domain (default: a new one).")
        parser.add_argument(
            "--marketplace", action="append", dest="marketplaces", help="Marketplace id(s)."
        )

    def handle(self, *args, variants, locations, fba_share, shop, marketplaces, **options):
        from sandbox.amazon.seed import seed_seller
        from sandbox.shopify.seed import seed_shop

        if variants < 0 or locations < 1 or not 0 <= fba_share <= 1:
            raise CommandError("need --variants >= 0, --locations >= 1, 0 <= --fba-share <= 1")
        rng = random.Random(variants)
        with transaction.atomic():
            shopify, totals = seed_shop(variants=variants, locations=locations, shop=shop)
            # Amazon starts in step with Shopify (negative stock is 0 there); FBA keeps its own.
            listings = (
                (sku, max(total, 0), FBA if rng.random() < fba_share else FBM)
                for sku, total in totals
            )
            amazon = seed_seller(
                listings=listings, marketplace_ids=tuple(marketplaces or ("ATVPDKIKX0DER",))
            )
        self.stdout.write(json.dumps({"shopify": shopify, "amazon": amazon}))
