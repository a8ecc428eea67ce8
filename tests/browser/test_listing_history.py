"""A listing's history chart in Chromium: Shopify stock, the Result and Amazon's quantity over
the last days, each push and each Amazon order marked. The screenshot lands in
docs/screenshots/listing-history.png (docs/admin.md shows it)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import AmazonOrder, AmazonOrderItem, PushState, QtyPush
from sync.outbox.recompute import listings_recompute
from tests.browser.test_merchant_admin import SHOTS, WAIT
from tests.factories import stocked_listing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Two days of a listing whose profile keeps a buffer of 2 for Shopify: each Amazon order
# lowers Shopify, the engine pushes the new Result (one push failed, and was sent again).
# (hours ago, Shopify stock, Result, state)
PUSHES = [
    (46, 26, 24, PushState.DONE),
    (40, 23, 21, PushState.DONE),
    (30, 19, 17, PushState.DONE),
    (20, 16, 14, PushState.FAILED),
    (19, 16, 14, PushState.DONE),
    (8, 13, 11, PushState.DONE),
]
ORDERS = [(41, 3), (31, 4), (21, 3), (9, 3)]  # (hours ago, units)


def listing_with_two_days_of_history():
    listing = stocked_listing(
        9,
        variant__product__title="Organic cotton yoga pants",
        selling_list__profile__mode="buffer",
        selling_list__profile__quantity=2,
        amazon_quantity=11,
    )
    now = timezone.now()
    for hours, stock, result, state in PUSHES:
        queued = now - timedelta(hours=hours)
        push = QtyPush.objects.create(
            listing=listing,
            account=listing.amazon_account,
            quantity=result,
            shopify_stock=stock,
            reason="stock_change",
            state=state,
            created_at=queued,
            sent_at=queued + timedelta(minutes=1),
            confirmed_at=queued + timedelta(minutes=3) if state == PushState.DONE else None,
            amazon_shown=result if state == PushState.DONE else None,
            message="Amazon is unavailable (503)" if state == PushState.FAILED else "",
        )
        # When Amazon last answered about it (auto_now on create would say "now").
        QtyPush.objects.filter(pk=push.pk).update(updated_at=queued + timedelta(minutes=3))
    for i, (hours, units) in enumerate(ORDERS):
        bought = now - timedelta(hours=hours)
        order = AmazonOrder.objects.create(
            account=listing.amazon_account,
            marketplace=listing.marketplace,
            order_id=f"114-0000000-{i:07d}",
            status="SHIPPED",
            fulfilled_by="MERCHANT",
            purchased_at=bought,
            last_updated=bought,
        )
        AmazonOrderItem.objects.create(
            order=order, order_item_id=f"{i}", sku=listing.sku, quantity=units, listing=listing
        )
    # A sale in the shop left 9: the engine queues the new Result (7), not confirmed yet.
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    return listing


def test_listing_page_charts_stock_result_and_amazon_with_each_push_and_order(
    admin_page, live_server
):
    listing = listing_with_two_days_of_history()
    confirmed = sum(1 for *_, state in PUSHES if state == PushState.DONE)
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/selling_lists/listing/{listing.pk}/change/")
    page.wait_for_selector("#history-chart[data-drawn] svg", timeout=WAIT)

    chart = page.locator("#history-chart svg")
    for key in ("stock", "result", "amazon"):
        assert chart.locator(f"path.line-{key}").count() == 1
    assert chart.locator("line.mark-push").count() == confirmed
    assert chart.locator("line.mark-push-failed").count() == 1
    assert chart.locator("line.mark-order").count() == len(ORDERS)
    order_titles = chart.locator("line.mark-order title").all_text_contents()
    assert any("Amazon order 114-0000000-0000000: 3 units" in t for t in order_titles)
    label = chart.get_attribute("aria-label")
    assert label.startswith("Last 7 days: 7 pushes (5 confirmed, 1 failed, 1 queued)")
    assert "Now: Shopify stock 9, Result 7, Amazon shows 11" in page.inner_text(".history-summary")
    legend = page.inner_text(".listing-history .chart-legend")
    assert "Shopify stock" in legend and "Amazon order" in legend
    # Readable at 1280 px: no horizontal scroll, the chart as wide as its box allows.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert chart.bounding_box()["width"] > 600

    # The section alone: the push log below it is the listing page's own screenshot's job.
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#listing-history").screenshot(path=str(SHOTS / "listing-history.png"))
