"""`manage.py sandbox_seed`: one JSON line of credentials, written in bulk."""

import io
import json
import time

import pytest
from django.core.management import call_command

from sandbox.amazon.models import Listing
from sandbox.shopify.models import InventoryLevel, Metafield, Shop, Variant
from sandbox.shopify.seed import seed_shop


def _seed(**options) -> tuple[dict, float]:
    out = io.StringIO()
    started = time.monotonic()
    call_command("sandbox_seed", stdout=out, **options)
    elapsed = time.monotonic() - started
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0]), elapsed


@pytest.mark.django_db
def test_sandbox_seed_prints_one_json_line_with_both_sets_of_credentials():
    result, _ = _seed(variants=40, locations=2, fba_share=0.25)
    assert set(result) == {"shopify", "amazon"}
    assert set(result["shopify"]) == {"shop", "access_token", "client_id", "client_secret"}
    assert set(result["amazon"]) == {
        "seller_id",
        "refresh_token",
        "client_id",
        "client_secret",
        "marketplace_ids",
    }
    assert result["amazon"]["marketplace_ids"] == ["ATVPDKIKX0DER"]
    shop = Shop.objects.get(domain=result["shopify"]["shop"])
    assert shop.access_token == result["shopify"]["access_token"]
    # The same SKUs on both sides, Amazon starting in step (never below zero), some FBA.
    skus = set(Variant.objects.filter(shop=shop).values_list("sku", flat=True))
    listings = Listing.objects.filter(seller__seller_id=result["amazon"]["seller_id"])
    assert set(listings.values_list("sku", flat=True)) == skus
    assert listings.filter(fulfillment_channel_code="AMAZON_NA").exists()
    assert not listings.filter(quantity__lt=0).exists()


@pytest.mark.django_db
def test_seed_shop_covers_the_cases_a_demo_needs():
    creds, totals = seed_shop(variants=200, locations=3)
    variants = Variant.objects.filter(shop__domain=creds["shop"])
    assert len(totals) == variants.count() == 200
    assert InventoryLevel.objects.filter(variant__in=variants).count() == 600
    assert variants.filter(tracked=False).exists()
    assert variants.filter(inventory_policy="CONTINUE", levels__available__lt=0).exists()
    metafields = Metafield.objects.filter(variant__in=variants)
    assert metafields.exists()
    assert {(m.namespace, m.key, m.type) for m in metafields} == {
        ("stocklink", "amazon_qty", "number_integer")
    }
    assert all(m.value.isdigit() for m in metafields)
    assert sum(t for _, t in totals) == sum(
        InventoryLevel.objects.filter(variant__in=variants).values_list("available", flat=True)
    )


@pytest.mark.django_db
def test_sandbox_seed_creates_every_variant_and_level_in_bulk(django_assert_max_num_queries):
    # Its speed (100,000 variants well under a minute) is bench/seed_sandbox.py's to measure;
    # here: bulk writes, so the queries do not grow with the variants.
    with django_assert_max_num_queries(60):
        result, _ = _seed(variants=5_000, locations=2)
    shop = Shop.objects.get(domain=result["shopify"]["shop"])
    assert Variant.objects.filter(shop=shop).count() == 5_000
    assert InventoryLevel.objects.filter(variant__shop=shop).count() == 10_000
