"""The merchant admin's small details (issue 11, "Confusing details"), each kept fixed."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import Marketplace
from sync.inbound.catalogue import ImportSummary
from sync.models import QtyPush
from sync.orders.models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from tests.factories import (
    AmazonAccountFactory,
    GlobalProfileFactory,
    ListingFactory,
    stocked_listing,
)

pytestmark = pytest.mark.django_db

LONG_SWITCH_LABELS = (
    "Update Amazon Item QTY when it has changed in Shopify",
    "Keep inventory in sync from Shopify to Amazon",
    "Sync FBM orders to Shopify stock",
    "Inventory sync off also stops orders changing Shopify",
)


def test_a_push_is_titled_by_its_sku_not_the_listings_database_id(admin_client):
    listing = ListingFactory(sku="SKU-123")
    push = QtyPush.objects.create(
        listing=listing, account=listing.amazon_account, quantity=5, reason="manual"
    )
    assert str(push).startswith("SKU-123 → 5")
    page = admin_client.get(reverse("admin:sync_qtypush_change", args=[push.pk]))
    html = page.content.decode()
    assert "SKU-123 → 5" in html
    assert f"{listing.pk} → 5" not in html


def test_update_qty_confirmation_shows_amazons_quantity_for_a_listing_never_pushed(admin_client):
    listing = stocked_listing(7, amazon_quantity=4)
    assert listing.last_sent_quantity is None
    page = admin_client.post(
        reverse("admin:selling_lists_listing_changelist"),
        {"action": "update_qty", "_selected_action": [listing.pk]},
    )
    html = page.content.decode()
    row = re.search(rf"<td>{re.escape(listing.sku)}</td>.*?</tr>", html, re.S).group(0)
    assert "<td>4</td>" in row and "—" not in row
    assert "<th>Amazon now</th>" in html


def test_rule_change_confirmation_shows_amazons_quantity_for_a_listing_never_pushed(admin_client):
    profile = GlobalProfileFactory(name="Fixed 2", mode="fixed", quantity=2)
    listing = stocked_listing(7, amazon_quantity=4, selling_list__profile=profile)
    url = reverse("admin:selling_lists_listing_rule_change") + f"?profile={profile.pk}"
    html = admin_client.get(url).content.decode()
    row = re.search(rf"<td>{re.escape(listing.sku)}</td>.*?</tr>", html, re.S).group(0)
    assert "<td>4</td>" in row and "—" not in row


def test_amazon_accounts_changelist_has_short_headers_and_shows_every_switch(admin_client):
    AmazonAccountFactory()
    html = admin_client.get(reverse("admin:accounts_amazonaccount_changelist")).content.decode()
    head = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    for label in LONG_SWITCH_LABELS:
        assert label not in head
    for header in ("Auto Qty", "Inventory sync", "FBM orders", "Orders stop with sync"):
        assert header in head


def test_the_orders_stock_ledger_shows_formatted_dates_not_iso(admin_client):
    account = AmazonAccountFactory()
    listing = ListingFactory(selling_list__amazon_account=account)
    when = datetime(2026, 3, 1, 12, 55, 30, tzinfo=UTC)
    order = AmazonOrder.objects.create(
        account=account,
        marketplace_id="ATVPDKIKX0DER",
        order_id="111-0000001-0000001",
        status="Unshipped",
        fulfilled_by="MFN",
        purchased_at=when,
        last_updated=when,
    )
    item = AmazonOrderItem.objects.create(
        order=order, order_item_id="1", sku=listing.sku, quantity=1, listing=listing
    )
    OrderStockEntry.objects.create(
        order_item=item,
        action=OrderStockEntry.Action.choices[0][0],
        state=OrderStockEntry.State.choices[0][0],
        quantity=1,
        store=listing.selling_list.shopify_store,
        variant=listing.variant,
        idempotency_key="k-1",
        applied_at=when,
    )
    html = admin_client.get(reverse("admin:sync_amazonorder_change", args=[order.pk])).content
    ledger = re.search(r"<th>applied at</th>.*?</table>", html.decode(), re.S).group(0)
    assert "2026-03-01 12:55:30" not in ledger and "+00:00" not in ledger
    shown = formats.localize(timezone.localtime(when))
    assert shown in ledger


def test_counts_take_the_singular_for_one():
    assert str(ImportSummary(locations=1, variants=1, levels=1)) == (
        "1 variant, 1 inventory level at 1 location"
    )
    assert str(ImportSummary(locations=2, variants=3, levels=0)) == (
        "3 variants, 0 inventory levels at 2 locations"
    )


def test_pausing_one_listing_says_listing_and_quantities_each_in_their_own_plural(admin_client):
    listing = ListingFactory()
    changelist = reverse("admin:selling_lists_listing_changelist")
    data = {"action": "pause_sync", "_selected_action": [listing.pk], "post": "yes"}
    page = admin_client.post(changelist, data, follow=True)
    texts = [str(m) for m in page.context["messages"]]
    assert "1 listing paused, 0 quantities queued for Amazon." in texts


def test_saving_a_selling_list_says_it_was_saved(admin_client):
    listing = ListingFactory()
    selling_list = listing.selling_list
    page = admin_client.post(
        reverse("admin:selling_lists_sellinglist_change", args=[selling_list.pk]),
        {
            "name": "Renamed list",
            "amazon_account": selling_list.amazon_account_id,
            "marketplace": selling_list.marketplace_id,
            "shopify_store": selling_list.shopify_store_id,
            "profile": selling_list.profile_id,
        },
        follow=True,
    )
    texts = [str(m) for m in page.context["messages"]]
    assert any("Renamed list" in t and "changed successfully" in t for t in texts), texts


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:selling_lists_listing_changelist",
        "admin:selling_lists_sellinglist_changelist",
        "admin:sync_amazonorder_changelist",
    ],
)
def test_only_marketplaces_in_use_appear_in_the_filters(admin_client, changelist):
    used = list(Marketplace.objects.filter(pk__in=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]))
    account = AmazonAccountFactory(marketplaces=used)
    for n, marketplace in enumerate(used):
        listing = ListingFactory(
            selling_list__amazon_account=account, selling_list__marketplace=marketplace
        )
        AmazonOrder.objects.create(
            account=account,
            marketplace=marketplace,
            order_id=f"111-0000001-000000{n}",
            status="Unshipped",
            fulfilled_by="MFN",
            purchased_at=timezone.now(),
            last_updated=timezone.now(),
        )
    assert listing.marketplace in used
    assert Marketplace.objects.count() > 2  # every marketplace Amazon has is in the table
    html = admin_client.get(reverse(changelist)).content.decode()
    filters = re.search(r'<nav id="changelist-filter".*?</nav>', html, re.S).group(0)
    shown = set(re.findall(r"marketplace__id__exact=(\w+)", filters))
    assert shown == {m.pk for m in used}
