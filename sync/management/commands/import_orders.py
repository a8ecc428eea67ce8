"""`manage.py orders_import [--account NAME|ID] [--marketplace ID] [--since ISO] [--no-apply]`."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from accounts.models import AmazonAccount, Marketplace
from sync.clients.errors import MarketplaceError
from sync.orders.apply import order_entries_apply_pending
from sync.orders.intake import orders_import


class Command(BaseCommand):
    help = (
        "Import Amazon orders (searchOrders 2026-01-01) since the last import, then write "
        "merchant-fulfilled sales and cancellations to Shopify stock, once each."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Amazon account name or id (default: all).")
        parser.add_argument("--marketplace", help="One marketplace id (default: all of them).")
        parser.add_argument(
            "--since",
            help="Read orders updated after this ISO time (aware, e.g. 2026-03-01T00:00Z) "
            "instead of the last import's start minus the overlap.",
        )
        parser.add_argument(
            "--no-apply", action="store_true", help="Record orders; write nothing to Shopify."
        )

    def handle(self, *args, account=None, marketplace=None, since=None, no_apply=False, **kw):
        accounts = AmazonAccount.objects.all()
        if account:
            lookup = Q(name=account) | (Q(pk=int(account)) if account.isdigit() else Q())
            accounts = accounts.filter(lookup)
            if not accounts.exists():
                raise CommandError(f"No Amazon account named {account!r}.")
        market = None
        if marketplace:
            market = Marketplace.objects.filter(pk=marketplace).first()
            if market is None:
                raise CommandError(f"Unknown marketplace id {marketplace!r}.")
        start = None
        if since:
            try:
                start = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError as exc:
                raise CommandError(f"--since is not an ISO time: {since!r}") from exc
            if timezone.is_naive(start):
                raise CommandError("--since needs a time zone, e.g. 2026-03-01T00:00Z.")
        failed = False
        for acc in accounts.order_by("name"):
            try:
                summary = orders_import(account=acc, marketplace=market, since=start)
            except MarketplaceError as exc:
                failed = True
                self.stderr.write(f"{acc}: Amazon refused the order search: {exc}")
                continue
            self.stdout.write(f"{acc}: {summary}")
            if not no_apply:
                self.stdout.write(
                    f"{acc}: Shopify stock: {order_entries_apply_pending(account=acc)}"
                )
        if failed:
            raise CommandError("Some accounts could not be imported; see above.")
