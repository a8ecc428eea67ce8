"""Changelists at 300,000 rows (docs/BENCHMARKS.md, "Changelists").

- The Variants order from indexes: products by title and id, a product's variants by title, -id.
- Trigram indexes for the admin's substring search: `icontains` on PostgreSQL is
  `UPPER(col::text) LIKE UPPER('%…%')`, which a GIN index of that expression's trigrams serves.
  PostgreSQL only: on SQLite nothing runs, and they are not in the models' state (SQLite remakes
  tables from that state, and has no GIN).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

INDEXES = {
    "product_title_trgm": ("accounts_product", "title"),
    "variant_title_trgm": ("accounts_variant", "title"),
    "variant_sku_trgm": ("accounts_variant", "sku"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_store_metafields_read_at"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="product",
            name="product_title",
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["title", "id"], name="product_title_id"),
        ),
        migrations.AddIndex(
            model_name="variant",
            index=models.Index(fields=["product", "title", "-id"], name="variant_product_order"),
        ),
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm, on PostgreSQL only
        migrations.RunPython(create, drop, elidable=False),
    ]
