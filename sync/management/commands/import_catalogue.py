"""`manage.py catalogue_import [--store NAME_OR_DOMAIN] [--bulk | --paged]`"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.models import ShopifyStore
from sync.clients.errors import MarketplaceError
from sync.inbound.catalogue import catalogue_import


class Command(BaseCommand):
    help = "Import the Shopify catalogue (locations, variants, stock, metafields) of the stores."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="A store's name or shop domain (default: every store).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--bulk", action="store_true", help="Read with a bulk operation.")
        mode.add_argument("--paged", action="store_true", help="Read page by page.")

    def handle(self, *args, store, bulk, paged, **options):
        stores = ShopifyStore.objects.all()
        if store:
            stores = stores.filter(Q(name=store) | Q(shop_domain=store))
            if not stores.exists():
                raise CommandError(f"No Shopify store is called {store!r}.")
        failed = False
        for shop in stores:
            try:
                summary = catalogue_import(
                    store=shop, bulk=True if bulk else False if paged else None
                )
            except MarketplaceError as error:
                failed = True
                self.stderr.write(f"{shop}: {error.message}")
                continue
            self.stdout.write(f"{shop}: {summary}.")
        if failed:
            raise CommandError("Some stores could not be imported (see above).")
