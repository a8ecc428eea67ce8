"""The product title stored on each variant (the Variants changelist's order): written by the
catalogue import, and kept in step when Shopify renames the product."""

import pytest

from accounts.models import Product, Variant
from sandbox.shopify.models import Variant as SandboxVariant
from sync.inbound.catalogue import catalogue_import

pytestmark = pytest.mark.django_db(transaction=True)


def stored_titles(store) -> set[tuple[str, str]]:
    return set(Variant.objects.filter(store=store).values_list("product_title", "product__title"))


@pytest.mark.parametrize("bulk", [False, True], ids=["paged", "bulk operation"])
def test_import_stores_each_variants_product_title_and_follows_a_rename(sandbox_world, bulk):
    world = sandbox_world(variants=6, locations=1)
    catalogue_import(store=world.store, bulk=bulk)
    titles = stored_titles(world.store)
    assert titles and all(stored == product for stored, product in titles)

    renamed = SandboxVariant.objects.get(sku="SKU-000001").product
    # No save(): no products/update webhook, only the re-import (as the hourly reconcile) sees it.
    type(renamed).objects.filter(pk=renamed.pk).update(title="Renamed in Shopify")
    catalogue_import(store=world.store, bulk=bulk)

    variant = Variant.objects.get(store=world.store, sku="SKU-000001")
    assert variant.product.title == variant.product_title == "Renamed in Shopify"
    siblings = Variant.objects.filter(product=variant.product)
    assert set(siblings.values_list("product_title", flat=True)) == {"Renamed in Shopify"}
    assert all(stored == product for stored, product in stored_titles(world.store))
    assert Product.objects.filter(store=world.store, title="Renamed in Shopify").count() == 1
