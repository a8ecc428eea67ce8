"""The admin at phone width (390×844, an iPhone 12-14): no page scrolls sideways, and the
navigation stays within reach. The Listings screenshot lands in docs/screenshots/."""

import pytest

from tests.browser.test_merchant_admin import shot
from tests.factories import InventoryLevelFactory, ListingFactory, SellingListFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT = 30_000
PHONE = {"width": 390, "height": 844}

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
# What sticks out past the right edge, for the failure message.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)"""


def on_screen(page, selector):
    """The element is visible and, once scrolled to, wholly within the screen's width."""
    locator = page.locator(selector).first
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    return locator.is_visible() and box and box["x"] >= 0 and box["x"] + box["width"] <= 390


@pytest.fixture
def listing():
    selling_list = SellingListFactory()
    listings = [
        ListingFactory(
            selling_list=selling_list,
            variant__product__title=f"Organic cotton yoga pants with a long name {i}",
            amazon_quantity=i,
        )
        for i in range(5)
    ]
    for i, each in enumerate(listings):
        InventoryLevelFactory(variant=each.variant, available=i + 3)
    return listings[0]


def check_page(page, url, ready):
    page.goto(url)
    page.wait_for_selector(ready, timeout=WAIT)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(WIDE)
    # The way home (Sync health) is always at hand: the site's name in the header.
    assert on_screen(page, "#site-name a")


def test_home_page_fits_a_phone_and_its_navigation_is_reachable(admin_page, live_server, listing):
    page = admin_page
    page.set_viewport_size(PHONE)
    check_page(page, f"{live_server.url}/admin/", ".health-market")
    assert on_screen(page, "#content-related a[href='/admin/selling_lists/listing/']")
    # The sidebar comes after the health sections, not on top of them.
    assert page.evaluate(
        "() => document.querySelector('#content-related').getBoundingClientRect().top"
        " >= document.querySelector('#content-main').getBoundingClientRect().bottom"
    )


def test_listings_changelist_fits_a_phone(admin_page, live_server, listing):
    page = admin_page
    page.set_viewport_size(PHONE)
    check_page(page, f"{live_server.url}/admin/selling_lists/listing/", "#result_list .badge")
    assert on_screen(page, ".breadcrumbs a")
    # Every column is readable without scrolling the table sideways: SKU to state badge.
    assert page.evaluate(
        "() => { const box = document.querySelector('#changelist .results');"
        " return box.scrollWidth <= box.clientWidth; }"
    )
    assert on_screen(page, "#result_list tbody tr .badge")
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "phone-listings")


def test_a_listing_fits_a_phone(admin_page, live_server, listing):
    page = admin_page
    page.set_viewport_size(PHONE)
    url = f"{live_server.url}/admin/selling_lists/listing/{listing.pk}/change/"
    check_page(page, url, "#listing_form")
    assert on_screen(page, ".breadcrumbs a")
