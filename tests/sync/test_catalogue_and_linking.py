"""Catalogue import and Link by SKU, over real HTTP against the sandbox with the real clients."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import InventoryLevel, Location, MetafieldValue, Variant
from profiles.models import default_profile
from sandbox.amazon.models import Listing as AmazonListing
from sandbox.shopify.models import Metafield
from sandbox.shopify.models import Variant as SandboxVariant
from selling_lists.models import Listing, ListingStatus, SellingList
from sync.inbound.catalogue import catalogue_import, catalogue_read_start
from sync.jobs.models import JobState
from sync.linking import selling_list_link_by_sku
from sync.models import PushState, QtyPush
from sync.outbound.confirm import pushes_confirm
from sync.outbound.send import pushes_send
from sync.tasks import refresh_metafields_task
from tests.conftest import job_page_text
from tests.factories import GlobalProfileFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_mirrors_every_variant_level_and_metafield(sandbox_world):
    world = sandbox_world(variants=60, locations=2)
    summary = catalogue_import(store=world.store)

    assert summary.variants == Variant.objects.filter(store=world.store).count() == 60
    assert Location.objects.filter(store=world.store, is_active=True).count() == 2
    expected = dict(world.stock)
    for variant in Variant.objects.filter(store=world.store, tracked=True):
        levels = InventoryLevel.objects.filter(variant=variant)
        assert sum(lv.available for lv in levels) == expected[variant.sku], variant.sku
    # The sandbox seeds untracked items and stocklink.amazon_qty metafields: both come across.
    assert Variant.objects.filter(store=world.store, tracked=False).count() == (
        SandboxVariant.objects.filter(sku__in=expected, tracked=False).count()
    )
    assert MetafieldValue.objects.filter(
        variant__store=world.store, namespace="stocklink", key="amazon_qty"
    ).exists()


def test_reimport_is_idempotent_and_follows_shopify(sandbox_world):
    from sandbox.shopify.services import level_for, set_available

    world = sandbox_world(variants=5, locations=1)
    catalogue_import(store=world.store)
    level = level_for(shop=world.shop["shop"], sku="SKU-000001")
    set_available(level=level, quantity=42)
    catalogue_import(store=world.store)

    assert Variant.objects.filter(store=world.store).count() == 5
    mirrored = InventoryLevel.objects.get(variant__store=world.store, variant__sku="SKU-000001")
    assert mirrored.available == 42


def test_a_read_started_ahead_keeps_levels_webhooks_wrote_after_it_began(sandbox_world):
    world = sandbox_world(variants=4, locations=1)
    catalogue_import(store=world.store)
    started = catalogue_read_start(world.store)  # Shopify reads; Amazon would be read meanwhile
    levels = InventoryLevel.objects.filter(variant__store=world.store).order_by("variant__sku")
    newer, older = levels[0], levels[1]
    seen = older.available
    # Webhooks applied before the import: one about a change after the read began, one before.
    InventoryLevel.objects.filter(pk=newer.pk).update(
        available=77, updated_at=started.as_of + timedelta(seconds=1)
    )
    InventoryLevel.objects.filter(pk=older.pk).update(
        available=55, updated_at=started.as_of - timedelta(seconds=1)
    )

    summary = catalogue_import(store=world.store, started=started)

    assert summary.variants == 4
    newer.refresh_from_db()
    older.refresh_from_db()
    assert (newer.available, newer.updated_at) == (77, started.as_of + timedelta(seconds=1))
    assert (older.available, older.updated_at) == (seen, started.as_of)


def test_import_with_a_bulk_operation_gives_the_same_mirror(sandbox_world):
    world = sandbox_world(variants=30, locations=2)
    paged = catalogue_import(store=world.store, bulk=False)
    before = sorted(
        InventoryLevel.objects.filter(variant__store=world.store).values_list(
            "variant__sku", "location__shopify_id", "available"
        )
    )
    bulk = catalogue_import(store=world.store, bulk=True)
    after = sorted(
        InventoryLevel.objects.filter(variant__store=world.store).values_list(
            "variant__sku", "location__shopify_id", "available"
        )
    )
    assert (paged.variants, paged.levels) == (bulk.variants, bulk.levels)
    assert before == after


def test_link_by_sku_reads_amazon_and_marks_fba(sandbox_world):
    world = sandbox_world(variants=6, locations=1, fba_skus={"SKU-000002"})
    catalogue_import(store=world.store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id="ATVPDKIKX0DER",
        shopify_store=world.store,
        profile=default_profile(),
    )
    summary = selling_list_link_by_sku(selling_list=selling_list)
    assert (summary.linked, summary.fba) == (6, 1)
    fba = Listing.objects.get(sku="SKU-000002")
    assert fba.status == ListingStatus.FBA and fba.asin
    assert selling_list_link_by_sku(selling_list=selling_list).already_linked == 6


def test_csv_links_shopify_skus_to_other_amazon_skus_and_reports_the_rest(
    sandbox_world, admin_client, run_job_request
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from sandbox.amazon.models import Listing as AmazonListing

    world = sandbox_world(variants=3, locations=1)
    # On Amazon, SKU-000002 is sold under the merchant's own Amazon SKU.
    AmazonListing.objects.filter(sku="SKU-000002").update(sku="AMZ-BLUE-M")
    catalogue_import(store=world.store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id="ATVPDKIKX0DER",
        shopify_store=world.store,
        profile=default_profile(),
    )
    csv = (
        b"shopify_sku,amazon_sku\nSKU-000002,AMZ-BLUE-M\nSKU-404,AMZ-X\nSKU-000003,AMZ-NOT-LISTED\n"
    )
    url = reverse("admin:selling_lists_sellinglist_link_csv", args=[selling_list.pk])
    _, job = run_job_request(
        lambda: admin_client.post(url, {"file": SimpleUploadedFile("links.csv", csv)})
    )

    linked = Listing.objects.get(selling_list=selling_list)
    assert (linked.sku, linked.variant.sku) == ("AMZ-BLUE-M", "SKU-000002")
    assert job.state == JobState.DONE and job.summary.startswith("US: 1 linked")
    page = job_page_text(admin_client, job)
    assert "SKU-404: not in Shopify, not linked." in page
    assert "AMZ-NOT-LISTED: not on Amazon, not linked." in page


def test_a_csv_without_its_header_is_refused_with_the_reason(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.factories import SellingListFactory

    selling_list = SellingListFactory()
    url = reverse("admin:selling_lists_sellinglist_link_csv", args=[selling_list.pk])
    response = admin_client.post(url, {"file": SimpleUploadedFile("l.csv", b"a,b\n1,2\n")})
    assert "must name the columns: shopify_sku,amazon_sku" in response.content.decode()
    assert not Listing.objects.exists()


def _selling_list(world):
    return SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id="ATVPDKIKX0DER",
        shopify_store=world.store,
        profile=default_profile(),
    )


def test_link_by_sku_in_the_admin_is_a_job_that_links_over_http(
    sandbox_world, admin_client, run_job_request
):
    world = sandbox_world(variants=4, locations=1)
    catalogue_import(store=world.store)
    selling_list = _selling_list(world)

    response, job = run_job_request(
        lambda: admin_client.post(
            reverse("admin:selling_lists_sellinglist_changelist"),
            {"action": "link_by_sku", "_selected_action": [selling_list.pk]},
        )
    )

    assert response["Location"] == reverse("admin:sync_job_change", args=[job.pk])
    assert job.state == JobState.DONE
    assert Listing.objects.filter(selling_list=selling_list).count() == 4
    assert "US: 4 linked" in job_page_text(admin_client, job)


def test_catalogue_import_in_the_admin_is_a_job_that_reads_the_shop(
    sandbox_world, admin_client, run_job_request
):
    world = sandbox_world(variants=5, locations=2)

    _, job = run_job_request(
        lambda: admin_client.post(
            reverse("admin:accounts_shopifystore_changelist"),
            {"action": "import_catalogue", "_selected_action": [world.store.pk]},
        )
    )

    assert job.state == JobState.DONE and (job.done, job.total) == (5, 5)
    assert world.store.variants.count() == 5
    assert "imported 5 variants" in job_page_text(admin_client, job)


def test_reconcile_now_in_the_admin_is_a_job_that_reads_amazon_back(
    sandbox_world, admin_client, run_job_request
):
    world = sandbox_world(variants=3, locations=1)
    catalogue_import(store=world.store)
    selling_list_link_by_sku(selling_list=_selling_list(world))

    _, job = run_job_request(
        lambda: admin_client.post(
            reverse("admin:accounts_amazonaccount_changelist"),
            {"action": "reconcile_now", "_selected_action": [world.account.pk]},
        )
    )

    assert job.state == JobState.DONE
    assert "Read back 3 Amazon quantities" in job_page_text(admin_client, job)


def test_8_a_metafield_edit_reaches_amazon_at_the_next_refresh_not_the_hourly_reconcile(
    sandbox_world,
):
    world = sandbox_world(variants=12, locations=1)
    catalogue_import(store=world.store)
    profile = GlobalProfileFactory(source="metafield", metafield_key="stocklink.amazon_qty")
    selling_list = _selling_list(world)
    selling_list.profile = profile
    selling_list.save()
    selling_list_link_by_sku(selling_list=selling_list)
    with_field = Metafield.objects.filter(namespace="stocklink", key="amazon_qty")
    listing = Listing.objects.filter(
        selling_list=selling_list,
        fulfillment_channel="FBM",
        variant__sku__in=with_field.values_list("variant__sku", flat=True),
    ).first()
    field = with_field.get(variant__sku=listing.variant.sku)
    edited = int(field.value) + 7
    refresh_metafields_task()  # a first refresh: every value read, none changed
    # Edited in Shopify's admin: Shopify sends no webhook for a metafield.
    field.value = str(edited)
    field.save()

    refresh_metafields_task()  # beat, every SYNC_METAFIELD_REFRESH_SECONDS: only what changed
    for _ in range(10):  # the worker: send, then read back once due
        QtyPush.objects.filter(state__in=[PushState.PENDING, PushState.SENT]).update(
            next_attempt_at="2000-01-01T00:00:00Z"
        )
        pushes_send(account_id=world.account.pk)
        pushes_confirm(account_id=world.account.pk)

    listing.refresh_from_db()
    assert listing.computed_quantity == edited
    shown = AmazonListing.objects.get(seller__seller_id=world.account.seller_id, sku=listing.sku)
    assert shown.quantity == edited
