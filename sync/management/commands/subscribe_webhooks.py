"""`manage.py webhooks_subscribe [--store NAME]`: subscribe stores to Stocklink's webhooks."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import ShopifyStore
from sync.clients.errors import MarketplaceError
from sync.inbound.webhooks import webhook_address, webhooks_subscribe


class Command(BaseCommand):
    help = "Subscribe Shopify stores to the webhook topics Stocklink uses (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store (its name or shop domain).")

    def handle(self, *args, store=None, **options):
        stores = ShopifyStore.objects.order_by("name")
        if store:
            stores = stores.filter(name=store) | stores.filter(shop_domain=store)
            if not stores.exists():
                raise CommandError(f"No Shopify store named {store!r}.")
        for shop in stores:
            try:
                created = webhooks_subscribe(store=shop)
            except MarketplaceError as exc:
                self.stderr.write(f"{shop}: {exc.message}")
                continue
            self.stdout.write(
                f"{shop}: {len(created)} new subscription(s) to {webhook_address()}"
                + (f" ({', '.join(created)})" if created else "")
            )
