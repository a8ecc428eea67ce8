"""The Global Profile page's "Result" preview follows the form as the merchant edits it."""

import pytest

from tests.factories import InventoryLevelFactory, ListingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sample_results(page) -> list[str]:
    return page.locator("#result-preview tr.sample td.result").all_inner_texts()


def test_result_preview_updates_live_when_the_mode_changes(admin_page, live_server):
    listing = ListingFactory(sku="CANDLE-1", selling_list__profile__name="Candles")
    InventoryLevelFactory(variant=listing.variant, available=20)
    profile = listing.selling_list.profile
    page = admin_page
    page.goto(f"{live_server.url}/admin/profiles/globalprofile/{profile.pk}/change/")
    # Samples 0, 1, 5, 10, 20 with "Product value": the stock itself.
    assert sample_results(page) == ["0", "1", "5", "10", "20"]
    assert page.locator("#result-preview tr.linked td.result").inner_text() == "20"

    page.select_option("#id_mode", "cap")
    page.fill("#id_quantity", "10")
    page.locator("#id_quantity").dispatch_event("change")
    # The table is re-rendered on every change: the cell may be missing for a moment.
    page.wait_for_function(
        "() => document.querySelector('#result-preview tr.linked td.result')?.innerText === '10'",
        timeout=30_000,
    )
    assert sample_results(page) == ["0", "1", "5", "10", "10"]  # Salestio: 20 → 10, 5 → 5
    profile.refresh_from_db()
    assert profile.mode == "product", "previewing must not save the profile"
