"""Migration accounts.0010 fills the product title stored on each existing variant."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.db import connection

from accounts.models import Variant
from tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

migration = import_module("accounts.migrations.0010_variant_product_title")


def test_migration_fills_each_existing_variants_product_title_from_its_product():
    lamp = VariantFactory(product__title="Desk lamp")
    other_lamp = VariantFactory(product=lamp.product)
    candle = VariantFactory(product__title="Candle")
    Variant.objects.update(product_title="")  # as the rows were before the column

    # What the migration runs, without a schema editor (SQLite's cannot open inside a test's
    # transaction).
    with connection.cursor() as cursor:
        migration.fill(None, SimpleNamespace(connection=connection, execute=cursor.execute))

    stored = sorted(Variant.objects.values_list("pk", "product_title"))
    assert stored == sorted(
        [(lamp.pk, "Desk lamp"), (other_lamp.pk, "Desk lamp"), (candle.pk, "Candle")]
    )
