"""Convergence (docs/convergence.md): Amazon ends at the Result after any event, and every
listing's state tells the truth. One test per finding of the convergence issue that does not
need worker processes (those are in tests/workers/test_convergence_with_workers.py)."""

from datetime import timedelta

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import InventoryLevel, Marketplace
from profiles.models import FixedAfterSale, GlobalProfile
from selling_lists.models import FulfillmentChannel, Listing, ListingStatus, SellingList
from selling_lists.selectors import listings_in_sync, listings_out_of_sync, listings_with_state
from sync.clients.factory import substitute
from sync.inbound.refresh import listings_refresh_stock
from sync.jobs.models import JobKind
from sync.jobs.services import RUN_JOB_TASK, job_start
from sync.models import PushState, QtyPush, SellerCircuit
from sync.orders import intake
from sync.orders.models import OrderStockEntry
from sync.outbound.circuit import circuit_refused
from sync.outbound.claims import backoff
from sync.outbound.confirm import pushes_confirm
from sync.outbound.send import pushes_send
from sync.outbox.actions import (
    account_switches_changed,
    listings_apply_rule_change,
    listings_hold_rule_change,
    selling_list_set_paused,
)
from sync.outbox.recompute import listings_recompute
from sync.selectors import update_qty_preview
from tests.factories import (
    AmazonAccountFactory,
    GlobalProfileFactory,
    ListingFactory,
    SellingListFactory,
    ShopifyStoreFactory,
    stocked_listing,
)

from .fakes import FakeAmazon, FakeShopify, free_limiter

pytestmark = pytest.mark.django_db


def send(listing, amazon):
    with substitute(amazon=amazon):
        return pushes_send(
            account_id=listing.amazon_account_id, limiter=free_limiter(listing.amazon_account)
        )


def confirm(listing, amazon):
    QtyPush.objects.filter(state=PushState.SENT).update(next_attempt_at=timezone.now())
    with substitute(amazon=amazon):
        return pushes_confirm(
            account_id=listing.amazon_account_id, limiter=free_limiter(listing.amazon_account)
        )


def import_orders(listing, amazon):
    with substitute(amazon=amazon):
        return intake.orders_import(account=listing.amazon_account)


def linked(stock=10, amazon=None, **kwargs):
    """A listing whose Result Amazon shows (pushed, read back): Linked."""
    listing = stocked_listing(stock, **kwargs)
    amazon = amazon or FakeAmazon()
    amazon.quantities[listing.sku] = 0
    listings_recompute(listing_ids=[listing.pk], reason="manual", force=True)
    send(listing, amazon)
    confirm(listing, amazon)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.LINKED, listing.status_message
    return listing, amazon


# --- 1. a sale on a capped listing ---------------------------------------------------------------


def test_1_a_sale_on_a_capped_listing_is_set_back_to_the_cap_at_the_order_import():
    listing, amazon = linked(40, selling_list__profile__mode="cap")
    listing.selling_list.profile.max_quantity = 10
    listing.selling_list.profile.save()
    listings_recompute(listing_ids=[listing.pk], reason="profile_change")
    send(listing, amazon)
    confirm(listing, amazon)
    assert amazon.quantities[listing.sku] == 10

    for n in range(3):  # three MFN sales take Amazon to 7
        amazon.sell(listing, order_id=f"111-0000001-000000{n}")
    import_orders(listing, amazon)

    listing.refresh_from_db()
    assert listing.amazon_quantity == 7  # what Amazon shows, lowered by its own sales
    assert listing.computed_quantity == 10  # Shopify 40 − 3 reserved, capped at 10
    assert listing.status == ListingStatus.PENDING
    send(listing, amazon)
    confirm(listing, amazon)
    listing.refresh_from_db()
    assert amazon.quantities[listing.sku] == 10
    assert listing.status == ListingStatus.LINKED


# --- 2. an outage: never give up, one circuit per seller ---------------------------------------


def test_2_an_outage_never_fails_a_push_sends_one_probe_at_a_time_and_drains_after():
    account = AmazonAccountFactory()
    amazon = FakeAmazon()
    listings = [stocked_listing(5 + i, selling_list__amazon_account=account) for i in range(5)]
    for listing in listings:
        amazon.quantities[listing.sku] = 0
    amazon.down = True
    listings_recompute(listing_ids=[lst.pk for lst in listings], reason="stock_change")

    send(listings[0], amazon)
    assert len(amazon.amazon_calls("patch")) == 1  # the circuit opened at the first 5xx
    circuit = SellerCircuit.objects.get(account=account)
    assert circuit.state == SellerCircuit.State.OPEN
    for listing in listings:
        listing.refresh_from_db()
        assert listing.state == ListingStatus.WAITING
        assert listing.state_text.startswith("Waiting for Amazon — next try ")
        assert "503" in listing.state_text

    send(listings[0], amazon)  # probe not due yet: nothing goes out
    assert len(amazon.amazon_calls("patch")) == 1
    for _ in range(30):  # a long outage: one probe each time it is due, never Failed
        SellerCircuit.objects.update(next_probe_at=timezone.now())
        send(listings[0], amazon)
    assert len(amazon.amazon_calls("patch")) == 31
    assert not QtyPush.objects.filter(state=PushState.FAILED).exists()
    assert QtyPush.objects.filter(state=PushState.PENDING).count() == 5
    circuit.refresh_from_db()
    assert circuit.next_probe_at - timezone.now() <= timedelta(seconds=20)

    amazon.down = False
    SellerCircuit.objects.update(next_probe_at=timezone.now())
    send(listings[0], amazon)  # the probe gets through: the circuit closes
    circuit.refresh_from_db()
    assert circuit.state == SellerCircuit.State.CLOSED
    send(listings[0], amazon)  # the backlog is due at once
    confirm(listings[0], amazon)
    for listing in listings:
        listing.refresh_from_db()
        assert listing.status == ListingStatus.LINKED
        assert amazon.quantities[listing.sku] == listing.computed_quantity


def test_2_backoff_is_capped_at_five_minutes_with_jitter():
    waits = [backoff(n).total_seconds() for n in range(1, 60)]
    assert max(waits) <= 300
    assert min(backoff(30).total_seconds() for _ in range(20)) >= 225
    assert len({backoff(30) for _ in range(20)}) > 1  # jittered


# --- 4. refused credentials ----------------------------------------------------------------------


def test_4_refused_credentials_fail_with_a_clear_reason_and_saving_them_retries_at_once(
    django_capture_on_commit_callbacks,
):
    listing = stocked_listing(6)
    amazon = FakeAmazon()
    amazon.quantities[listing.sku] = 0
    amazon.refuse = True
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")

    send(listing, amazon)
    listing.refresh_from_db()
    assert listing.state == ListingStatus.FAILED
    assert "refused the account's credentials" in listing.state_text
    assert "invalid_grant" in listing.state_text
    send(listing, amazon)  # stopped: nothing more goes to Amazon until they are fixed
    assert len(amazon.amazon_calls("patch")) == 1

    amazon.refuse = False
    with substitute(amazon=amazon), django_capture_on_commit_callbacks(execute=True):
        account_switches_changed(account=listing.amazon_account, changed_fields=["refresh_token"])
    # Sent at once (the send task ran on commit), not after a back-off.
    assert amazon.quantities[listing.sku] == 6
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING  # sent, awaiting its read-back
    confirm(listing, amazon)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.LINKED


# --- 5. a sale during the read-back --------------------------------------------------------------


def test_5_a_sale_during_the_read_back_counts_as_applied():
    listing = stocked_listing(10)
    amazon = FakeAmazon()
    amazon.quantities[listing.sku] = 0
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    send(listing, amazon)  # ACCEPTED, applied: Amazon shows 10
    amazon.sell(listing)  # then a sale: Amazon shows 9 before our read-back
    import_orders(listing, amazon)

    confirm(listing, amazon)
    push = QtyPush.objects.get(quantity=10)
    assert push.state == PushState.DONE
    listing.refresh_from_db()
    assert listing.amazon_quantity == 9
    assert listing.computed_quantity == 9  # 10 in Shopify, 1 sold on Amazon not yet taken off
    assert listing.status == ListingStatus.LINKED


# --- 6. pausing ----------------------------------------------------------------------------------


def test_6_pausing_a_selling_list_shows_paused_at_once_and_resuming_sends_what_differs():
    listing, amazon = linked(10)
    selling_list = listing.selling_list
    selling_list.paused = True
    selling_list.save()  # saved by any path: the state shows it before any recompute
    assert listings_with_state(Listing.objects.filter(pk=listing.pk)).get().sync_state == "paused"

    selling_list_set_paused(selling_list=selling_list, paused=True, acting_user=None)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PAUSED
    InventoryLevel.objects.filter(variant=listing.variant).update(available=4)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    assert not QtyPush.objects.filter(state=PushState.PENDING).exists()

    summary = selling_list_set_paused(selling_list=selling_list, paused=False, acting_user=None)
    assert summary.queued == 1
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PENDING


# --- 7. "set it back after a sale" ---------------------------------------------------------------


def test_7_switching_a_fixed_profile_to_set_it_back_restores_lowered_listings():
    profile = GlobalProfileFactory(mode="fixed", quantity=5, fixed_after_sale=FixedAfterSale.LOWER)
    listing, amazon = linked(30, selling_list__profile=profile)
    amazon.sell(listing)
    import_orders(listing, amazon)
    listing.refresh_from_db()
    assert listing.amazon_quantity == 4
    assert listing.status == ListingStatus.HELD  # the profile lets it go down: held, not Linked

    profile.fixed_after_sale = FixedAfterSale.RESTORE
    profile.save()
    [row] = update_qty_preview([listing.pk])
    assert (row.before, row.after) == (4, 5)
    summary = listings_apply_rule_change(listing_ids=[listing.pk], acting_user=None)
    assert summary.queued == 1
    send(listing, amazon)
    assert amazon.quantities[listing.sku] == 5


# --- 9. Linked means in sync ---------------------------------------------------------------------


def test_9_held_listings_are_out_of_sync_and_the_filter_never_lists_fba():
    listing, amazon = linked(10)
    account = listing.amazon_account
    account.auto_update_qty = False
    account.save()
    InventoryLevel.objects.filter(variant=listing.variant).update(available=3)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.HELD
    assert "Amazon shows 10, the Result is 3" in listing.state_text
    fba = ListingFactory(selling_list=listing.selling_list, fulfillment_channel="FBA")
    in_sync, _ = linked(2)

    out = set(listings_out_of_sync().values_list("pk", flat=True))
    assert listing.pk in out and fba.pk not in out and in_sync.pk not in out
    assert set(listings_in_sync().values_list("pk", flat=True)) == {in_sync.pk}
    assert fba.fulfillment_channel == FulfillmentChannel.FBA


def _profile_form(profile, **changes):
    """The profile's change form as the admin posts it, with `changes`."""
    data = {
        f.name: getattr(profile, f.attname)
        for f in profile._meta.concrete_fields
        if f.editable and f.name != "id" and getattr(profile, f.attname) not in (None, False)
    }
    return {**data, **changes}


def test_9_after_not_now_a_listing_whose_result_moved_is_held_and_nothing_is_sent(
    admin_client, django_capture_on_commit_callbacks
):
    listing, amazon = linked(10)
    unmoved, _ = linked(5, amazon, selling_list=listing.selling_list)
    profile = listing.selling_list.profile
    pushes = QtyPush.objects.count()

    # The merchant makes the profile "always 5", sees the confirmation page, answers "Not now".
    url = reverse("admin:profiles_globalprofile_change", args=[profile.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, _profile_form(profile, mode="fixed", quantity=5))
    assert response["Location"].startswith(reverse("admin:selling_lists_listing_rule_change"))

    listing.refresh_from_db()
    unmoved.refresh_from_db()
    assert listing.state == ListingStatus.HELD
    assert "Amazon shows 10, the Result is 5" in listing.state_text
    assert unmoved.state == ListingStatus.LINKED  # its Result (5) is what Amazon shows
    assert QtyPush.objects.count() == pushes  # nothing is sent before the merchant confirms
    assert set(listings_out_of_sync().values_list("pk", flat=True)) == {listing.pk}


def test_9_a_held_rule_change_waits_through_stock_changes_until_the_merchant_confirms(
    admin_client, django_capture_on_commit_callbacks
):
    listing, amazon = linked(10)
    profile = listing.selling_list.profile
    url = reverse("admin:profiles_globalprofile_change", args=[profile.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, _profile_form(profile, mode="cap", quantity=6))
    assert response.status_code == 302, response.context["adminform"].form.errors
    listing.refresh_from_db()
    assert listing.state == ListingStatus.HELD, listing.state_text
    pushes = QtyPush.objects.count()

    InventoryLevel.objects.filter(variant=listing.variant).update(available=8)
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    listing.refresh_from_db()
    assert listing.state == ListingStatus.HELD  # "Not now" holds; a stock change does not send
    assert "Amazon shows 10, the Result is 6" in listing.state_text
    assert QtyPush.objects.count() == pushes

    listings_apply_rule_change(listing_ids=[listing.pk], acting_user=None)  # "Send"
    assert QtyPush.objects.get(listing=listing, state=PushState.PENDING).quantity == 6


def test_9_saving_a_profile_without_moving_a_result_keeps_each_listings_state(
    admin_client, django_capture_on_commit_callbacks
):
    listing, amazon = linked(10)
    QtyPush.objects.all().delete()
    Listing.objects.filter(pk=listing.pk).update(
        status=ListingStatus.FAILED, status_message="Qty update failed: INVALID"
    )
    profile = listing.selling_list.profile
    url = reverse("admin:profiles_globalprofile_change", args=[profile.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url, _profile_form(profile, name="Renamed"))
    assert callbacks == []  # a rename holds nothing and asks for no confirmation
    assert not response["Location"].startswith(reverse("admin:selling_lists_listing_rule_change"))

    listing.refresh_from_db()
    listings_hold_rule_change(listing_ids=[listing.pk])  # a save that moved no Result
    listing.refresh_from_db()
    assert (listing.status, listing.status_message) == (
        ListingStatus.FAILED,
        "Qty update failed: INVALID",
    )


def test_9_a_selling_list_given_another_profile_holds_what_moved_until_confirmed(
    admin_client, django_capture_on_commit_callbacks
):
    listing, amazon = linked(10)
    selling_list = listing.selling_list
    single = GlobalProfile.objects.create(name="Always one", mode="single")
    url = reverse("admin:selling_lists_sellinglist_change", args=[selling_list.pk])
    data = {
        "name": selling_list.name,
        "amazon_account": selling_list.amazon_account_id,
        "marketplace": selling_list.marketplace_id,
        "shopify_store": selling_list.shopify_store_id,
        "profile": single.pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]

    listing.refresh_from_db()
    assert listing.state == ListingStatus.HELD
    assert "Amazon shows 10, the Result is 1" in listing.state_text


# --- 10. a Selling List's account, marketplace and store lock ------------------------------------


def test_10_a_selling_lists_account_marketplace_and_store_lock_once_it_has_listings():
    selling_list = SellingListFactory()
    selling_list.shopify_store = ShopifyStoreFactory()
    selling_list.full_clean()  # no listings yet: it may change
    selling_list.save()

    listing = ListingFactory(selling_list=selling_list)
    other_market = Marketplace.objects.exclude(pk=selling_list.marketplace_id).first()
    for name, value in (
        ("amazon_account", AmazonAccountFactory()),
        ("marketplace", other_market),
        ("shopify_store", ShopifyStoreFactory()),
    ):
        changed = SellingList.objects.get(pk=selling_list.pk)
        setattr(changed, name, value)
        with pytest.raises(ValidationError) as error:
            changed.full_clean()
        assert name in error.value.message_dict
        with pytest.raises(ValidationError):
            changed.save()
    listing.refresh_from_db()
    assert listing.marketplace_id == selling_list.marketplace_id


# --- 11. Update Qty re-reads Shopify ------------------------------------------------------


def update_qty_as_the_admin_starts_it(listing_ids):
    """Update Qty: the admin action starts a job and a worker runs it."""
    job = job_start(
        kind=JobKind.UPDATE_QTY, acting_user=None, params={"listing_ids": list(listing_ids)}
    )
    current_app.tasks[RUN_JOB_TASK].apply(args=(job.pk,))


def test_11_update_qty_computes_from_shopify_re_read_not_from_the_stored_copy():
    listing = stocked_listing(8)  # the webhook with 14 was held back
    level = InventoryLevel.objects.get(variant=listing.variant)
    shopify = FakeShopify(
        levels={(listing.variant.inventory_item_id, level.location.shopify_id): 14}
    )

    with substitute(shopify=lambda store: shopify):
        update_qty_as_the_admin_starts_it([listing.pk])
    assert QtyPush.objects.get(state=PushState.PENDING).quantity == 14
    assert shopify.reads == [[listing.variant.inventory_item_id]]

    with substitute(shopify=lambda store: shopify):
        summary = listings_refresh_stock(listing_ids=[listing.pk])
    assert summary.levels_changed == 0  # already re-read


# --- 12. seed 001: sync off can stop orders changing Shopify ---------------------------------


@pytest.mark.parametrize("stop", [True, False])
def test_12_inventory_sync_off_stops_orders_changing_shopify_when_the_merchant_says_so(stop):
    listing = stocked_listing(10)
    account = listing.amazon_account
    account.inventory_sync_enabled = False
    account.orders_stop_with_sync = stop
    account.save()
    amazon = FakeAmazon()
    amazon.quantities[listing.sku] = 10
    amazon.sell(listing)
    import_orders(listing, amazon)
    assert OrderStockEntry.objects.exists() is (not stop)


def test_circuits_are_per_seller():
    amazon = FakeAmazon()
    one = stocked_listing(3)
    two = stocked_listing(4)
    for listing in (one, two):
        amazon.quantities[listing.sku] = 0
    listings_recompute(listing_ids=[one.pk, two.pk], reason="stock_change")
    amazon.down = True
    send(one, amazon)
    amazon.down = False
    send(two, amazon)
    assert amazon.quantities[two.sku] == 4 and amazon.quantities[one.sku] == 0
    assert SellerCircuit.objects.get(account=one.amazon_account).state == "open"


def test_an_open_circuit_with_nothing_left_to_probe_closes_so_read_backs_resume():
    listing = stocked_listing(3)
    amazon = FakeAmazon()
    amazon.quantities[listing.sku] = 0
    listings_recompute(listing_ids=[listing.pk], reason="stock_change")
    amazon.down = True
    send(listing, amazon)
    QtyPush.objects.filter(state=PushState.PENDING).update(state=PushState.SUPERSEDED)
    SellerCircuit.objects.update(next_probe_at=timezone.now())
    send(listing, amazon)
    assert SellerCircuit.objects.get().state == SellerCircuit.State.CLOSED


def test_a_refusal_of_credentials_replaced_meanwhile_does_not_stop_the_seller_again():
    listing = stocked_listing(3)
    stale = type(listing.amazon_account).objects.get(pk=listing.amazon_account_id)
    listing.amazon_account.refresh_token = "Atzr|the-right-one"
    listing.amazon_account.save()  # saved while a send with the old token was on the wire

    circuit_refused(stale, "invalid_grant")
    assert not SellerCircuit.objects.filter(state=SellerCircuit.State.CREDENTIALS).exists()
