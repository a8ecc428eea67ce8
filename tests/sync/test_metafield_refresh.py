"""Metafield-sourced stock is re-read incrementally on a schedule (docs/convergence.md): over
real HTTP against the sandbox's Shopify with the real client, each refresh asks only for the
variants updated since the previous one (`productVariants(query: "updated_at:>…")`), writes
only the values that changed and recomputes only their listings."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import MetafieldValue, ShopifyStore
from sandbox.shopify.models import Metafield
from sandbox.shopify.models import Variant as SandboxVariant
from selling_lists.models import Listing, SellingList
from sync.inbound.catalogue import catalogue_import
from sync.inbound.refresh import metafields_refresh
from sync.linking import selling_list_link_by_sku
from sync.models import PushReason, QtyPush
from tests.factories import GlobalProfileFactory
from tests.sandbox_world import US

pytestmark = pytest.mark.django_db(transaction=True)


def refresh(world):
    return metafields_refresh(store=ShopifyStore.objects.get(pk=world.store.pk))


def metafield_world(sandbox_world, variants):
    """A shop whose variants each hold stocklink.amazon_qty, last touched yesterday, linked to
    a Selling List whose profile reads that metafield."""
    world = sandbox_world(variants=variants, locations=1)
    Metafield.objects.bulk_create(
        Metafield(variant=variant, namespace="stocklink", key="amazon_qty", value=str(i % 9))
        for i, variant in enumerate(SandboxVariant.objects.filter(metafields__isnull=True))
    )
    SandboxVariant.objects.update(updated_at=timezone.now() - timedelta(days=1))
    catalogue_import(store=world.store)
    selling_list = SellingList.objects.create(
        name="US",
        amazon_account=world.account,
        marketplace_id=US,
        shopify_store=world.store,
        profile=GlobalProfileFactory(source="metafield", metafield_key="stocklink.amazon_qty"),
    )
    selling_list_link_by_sku(selling_list=selling_list)
    return world, selling_list


def test_a_refresh_reads_only_what_changed_since_the_last_and_writes_only_the_edit(
    sandbox_world, admin_client, settings
):
    settings.SYNC_METAFIELD_INCREMENTAL = True
    world, selling_list = metafield_world(sandbox_world, variants=40)

    first = refresh(world)  # the store's first refresh reads every variant
    assert (first.variants, first.metafields_changed) == (40, 0)

    fields = Metafield.objects.filter(namespace="stocklink", key="amazon_qty").order_by("pk")
    assert fields.count() == 40  # one edit among many
    field = fields[3]
    field.value = str(int(field.value) + 7)
    field.save()  # edited in Shopify's admin: no webhook
    listing = Listing.objects.get(selling_list=selling_list, sku=field.variant.sku)
    others = dict(Listing.objects.exclude(pk=listing.pk).values_list("pk", "computed_at"))
    written_before = timezone.now()

    second = refresh(world)
    assert (second.variants, second.metafields_changed) == (1, 1)
    assert list(
        MetafieldValue.objects.filter(updated_at__gte=written_before).values_list(
            "variant_id", "value"
        )
    ) == [(listing.variant_id, field.value)]
    listing.refresh_from_db()
    assert listing.computed_quantity == int(field.value)
    # One push, for that listing only (sent at once: tasks run eagerly here).
    assert list(
        QtyPush.objects.filter(reason=PushReason.STOCK_CHANGE).values_list("listing_id", "quantity")
    ) == [(listing.pk, int(field.value))]
    assert dict(Listing.objects.exclude(pk=listing.pk).values_list("pk", "computed_at")) == others

    pushes, written_before = QtyPush.objects.count(), timezone.now()
    third = refresh(world)  # nothing changed: only the overlap window is read again
    assert (third.variants, third.metafields_changed) == (1, 0)
    assert not MetafieldValue.objects.filter(updated_at__gte=written_before).exists()
    assert QtyPush.objects.count() == pushes

    # The listing's page says when its source was read.
    store = ShopifyStore.objects.get(pk=world.store.pk)
    page = admin_client.get(reverse("admin:selling_lists_listing_change", args=[listing.pk]))
    read_at = timezone.localtime(store.metafields_read_at).strftime("%Y-%m-%d %H:%M:%S")
    assert "Stock read from Shopify at" in page.content.decode()
    assert read_at in page.content.decode()


def test_with_no_overlap_a_refresh_after_no_change_reads_nothing(sandbox_world, settings):
    settings.SYNC_METAFIELD_INCREMENTAL = True
    settings.SYNC_METAFIELD_OVERLAP_SECONDS = 0
    world, _ = metafield_world(sandbox_world, variants=12)

    assert refresh(world).variants == 12
    again = refresh(world)
    assert (again.variants, again.metafields_changed) == (0, 0)


def test_by_default_every_refresh_reads_every_value_and_writes_only_the_edit(sandbox_world):
    world, selling_list = metafield_world(sandbox_world, variants=40)
    refresh(world)
    field = Metafield.objects.filter(namespace="stocklink", key="amazon_qty").order_by("pk")[3]
    field.value = str(int(field.value) + 7)
    field.save()

    again = refresh(world)  # right whether or not Shopify moves updatedAt on the edit
    assert (again.variants, again.metafields_changed) == (40, 1)
