"""The merchant's admin in Chromium: the sync-health home page and its banners, the compact
Listings changelist at 1280 px, bulk actions through their confirmation, the profile editor.
Screenshots land in docs/screenshots/ (docs/admin.md shows them)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import ShopifyStore
from config.tasks import HEARTBEAT_KEY
from profiles.models import GlobalProfile
from selling_lists.models import Listing
from sync.models import QtyPush
from sync.outbound.circuit import circuit_refused, circuit_trip
from tests.factories import (
    GlobalProfileFactory,
    InventoryLevelFactory,
    ListingFactory,
    LocationFactory,
    SellingListFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT = 30_000


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def some_listings(n=12, **list_kwargs):
    selling_list = SellingListFactory(**list_kwargs)
    listings = []
    for i in range(n):
        listing = ListingFactory(
            selling_list=selling_list,
            variant__product__title=f"Organic cotton yoga pants with a long name {i}",
            amazon_quantity=i,
        )
        InventoryLevelFactory(variant=listing.variant, available=i + 3)
        listings.append(listing)
    return selling_list, listings


def test_home_page_shows_each_kind_of_problem_as_a_banner(admin_page, live_server):
    _, (refused, *_rest) = some_listings(2)
    _, (unreachable, *_) = some_listings(1)
    for listing in (refused, unreachable):
        QtyPush.objects.create(
            listing=listing, account=listing.amazon_account, quantity=3, reason="manual"
        )
    circuit_refused(refused.amazon_account, "invalid_grant")
    circuit_trip(unreachable.amazon_account, "Amazon is not answering: 503 Service Unavailable")
    ShopifyStore.objects.update(created_at=timezone.now() - timedelta(days=3))
    cache.delete(HEARTBEAT_KEY)  # beat never ran (another test in this process may have)
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/")
    for kind in ("credentials", "unreachable", "webhooks", "beat"):
        page.wait_for_selector(f".sync-problem-{kind}", timeout=WAIT)
    assert "refuses the credentials of" in page.inner_text(".sync-problem-credentials")
    assert "503 Service Unavailable" in page.inner_text(".sync-problem-unreachable")
    assert page.locator(".health-circuit-credentials").count() == 1
    page.wait_for_function(
        "() => Number(document.querySelector('#chart-day')?.dataset.drawn)"
        " === JSON.parse(document.getElementById('activity-day').textContent).length",
        timeout=WAIT,
    )
    assert page.locator(".health-market").count() == 2
    assert page.locator(".oldest-pending").count() == 2
    shot(page, "sync-health")
    # The banners follow the merchant to every admin page until fixed.
    page.goto(f"{live_server.url}/admin/profiles/globalprofile/")
    page.wait_for_selector(".sync-problem-credentials", timeout=WAIT)


def test_listings_changelist_fits_1280_px_without_horizontal_scroll(admin_page, live_server):
    some_listings(20)
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/selling_lists/listing/")
    page.wait_for_selector("#result_list .badge", timeout=WAIT)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # Every column is visible: the table is no wider than its box, and the box ends on screen.
    page.wait_for_function(
        "() => { const box = document.querySelector('#changelist .results');"
        " return !!box && box.scrollWidth <= box.clientWidth"
        " && box.getBoundingClientRect().right <= window.innerWidth; }",
        timeout=WAIT,
    )
    first = page.locator("#result_list tbody tr").first
    assert "→" in first.locator(".qty-flow").inner_text()
    shot(page, "listings-changelist")


def run_action(page, live_server, action):
    page.goto(f"{live_server.url}/admin/selling_lists/listing/")
    page.wait_for_selector("#action-toggle", timeout=WAIT)
    page.check("#action-toggle")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector("table.bulk-preview", timeout=WAIT)


def test_pause_and_resume_go_through_a_before_after_confirmation(admin_page, live_server):
    some_listings(3)
    page = admin_page
    run_action(page, live_server, "pause_sync")
    assert page.locator("tr.bulk-row td.after").all_inner_texts() == ["Paused"] * 3
    page.click("button.confirm-button")
    page.wait_for_selector("li.success", timeout=WAIT)
    assert Listing.objects.filter(paused=True).count() == 3
    run_action(page, live_server, "resume_sync")
    page.click("button.confirm-button")
    page.wait_for_selector("li.success", timeout=WAIT)
    assert Listing.objects.filter(paused=True).count() == 0


def test_move_to_selling_list_shows_the_new_result_before_confirming(admin_page, live_server):
    source, listings = some_listings(3)
    capped = GlobalProfileFactory(name="At most 2", mode="cap", quantity=2)
    target = SellingListFactory(
        name="Capped",
        amazon_account=source.amazon_account,
        shopify_store=source.shopify_store,
        profile=capped,
    )
    page = admin_page
    run_action(page, live_server, "move_to_selling_list")
    assert page.is_disabled("button.confirm-button")
    page.select_option("#id_bulk-target", str(target.pk))
    page.click("input.preview-button")
    page.wait_for_function(
        "() => document.querySelectorAll('tr.bulk-row td.result-after').length === 3"
        " && [...document.querySelectorAll('tr.bulk-row td.result-after')]"
        ".every(td => td.innerText.trim() === '2')",
        timeout=WAIT,
    )
    page.click("button.confirm-button")
    page.wait_for_selector("li.success", timeout=WAIT)
    assert set(Listing.objects.values_list("selling_list", flat=True)) == {target.pk}


def test_set_own_rule_confirms_before_after(admin_page, live_server):
    some_listings(2)
    page = admin_page
    run_action(page, live_server, "set_own_rule")
    page.select_option("#id_bulk-mode", "fixed")
    page.fill("#id_bulk-quantity", "7")
    page.click("input.preview-button")
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr.bulk-row td.result-after')]"
        ".map(td => td.innerText.trim()).join() === '7,7'",
        timeout=WAIT,
    )
    page.click("button.confirm-button")
    page.wait_for_selector("li.success", timeout=WAIT)
    assert set(Listing.objects.values_list("override_mode", "override_quantity")) == {("fixed", 7)}


def test_ticking_default_profile_on_another_moves_the_default_in_one_step(admin_page, live_server):
    old = GlobalProfile.objects.get(is_default=True)
    new = GlobalProfileFactory(name="New default")
    page = admin_page
    page.goto(f"{live_server.url}/admin/profiles/globalprofile/{new.pk}/change/")
    page.check("#id_is_default")
    page.click("input[name=_save]")
    page.wait_for_selector("li.success", timeout=WAIT)
    assert GlobalProfile.objects.get(is_default=True).pk == new.pk
    old.refresh_from_db()
    assert not old.is_default


def test_use_warehouse_with_a_chosen_location_previews_without_error(admin_page, live_server):
    listing = ListingFactory(sku="CANDLE-1", selling_list__profile__name="Warehouse only")
    level = InventoryLevelFactory(variant=listing.variant, available=12)
    LocationFactory(store=level.location.store, name="Other warehouse")
    profile = listing.selling_list.profile
    page = admin_page
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/admin/profiles/globalprofile/{profile.pk}/change/")
    page.check("#id_use_warehouse")
    page.select_option("#id_locations_from", str(level.location.pk))
    page.click("#id_locations_add")
    page.wait_for_function(
        "() => document.querySelector('#result-preview tr.linked td.result')?.innerText === '12'"
        " && !document.querySelector('#result-preview .errornote')",
        timeout=WAIT,
    )
    # The Result panel stays in view beside the fields while the form scrolls.
    page.mouse.wheel(0, 1500)
    page.wait_for_function(
        "() => { const r = document.querySelector('.result-panel')?.getBoundingClientRect();"
        " return !!r && r.top >= 0 && r.top < window.innerHeight; }",
        timeout=WAIT,
    )
    shot(page, "profile-editor")


def test_contradictory_profile_gets_a_warning_and_errors_use_field_labels(admin_page, live_server):
    profile = GlobalProfileFactory(
        name="Half the stock, 0 at or below 1", percentage=50, out_of_stock_threshold=1
    )
    page = admin_page
    page.goto(f"{live_server.url}/admin/profiles/globalprofile/{profile.pk}/change/")
    page.wait_for_selector("#result-preview .warnings li", timeout=WAIT)
    assert "until Shopify has 4 or more" in page.inner_text("#result-preview .warnings")
    page.select_option("#id_mode", "cap")
    page.fill("#id_quantity", "")
    page.locator("#id_quantity").dispatch_event("change")
    page.wait_for_function(
        "() => document.querySelector('#result-preview .errorlist')?.innerText.includes('N')",
        timeout=WAIT,
    )
    errors = page.inner_text("#result-preview .errorlist")
    assert "quantity:" not in errors and "__all__" not in errors


def test_amazon_accounts_changelist_shows_every_switch_at_1280_px(admin_page, live_server):
    some_listings(1)
    page = admin_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/accounts/amazonaccount/")
    page.wait_for_selector("#result_list td.field-orders_stop img", timeout=WAIT)
    assert page.evaluate(
        "() => [...document.querySelectorAll('#result_list thead th')]"
        ".every(th => th.getBoundingClientRect().right <= window.innerWidth)"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
