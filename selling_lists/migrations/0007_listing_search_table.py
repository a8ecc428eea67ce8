"""The Listings' trigram search moves off the listing table, to `selling_lists_listing_search`
(`ListingSearch`): a listing's id, SKU and ASIN (docs/BENCHMARKS.md, issue 12's scale section).

A recompute rewrites the status of every listing it moves; the status is indexed, so that is
never a HOT update and every index of the listing table gets a new entry per row, the two GIN
trigram indexes of 0005 included, although a SKU or ASIN changes only on linking, a catalogue
import, a re-link or an admin edit. Here the trigram indexes are on the narrow table instead,
which the recompute's UPDATE (it sets neither column) never writes.

The copy is kept by triggers on the listing table, not by the code that writes listings, so
every write path keeps it right: `save()`, `bulk_create`, `queryset.update`, the raw
statements of `accounts.bulk` (upserts included) and any hand-written SQL.

- AFTER INSERT, and AFTER UPDATE OF sku, asin when one of them differs: upsert the copy.
  `UPDATE OF` means an UPDATE that does not set either column does not even queue the trigger.
- AFTER DELETE: delete the copy; AFTER TRUNCATE: empty the table. No foreign key: Django's
  `flush` (and the transactional tests' teardown) truncates the tables of managed models only,
  and PostgreSQL refuses to truncate a table that another one references.

PostgreSQL only, as 0005: on SQLite nothing runs (the model is not managed, and the search
there reads the listing table as before). Reversible: back, the copy is dropped and 0005's
indexes are built on the listing table again.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "selling_lists_listing_search"
TRIGRAM = {"listing_search_sku_trgm": "sku", "listing_search_asin_trgm": "asin"}
# 0005's, dropped here and built again on the way back.
LISTING_TRIGRAM = {"listing_sku_trgm": "sku", "listing_asin_trgm": "asin"}

TRIGGERS = {
    "listing_search_insert": 'AFTER INSERT ON "selling_lists_listing" FOR EACH ROW '
    'EXECUTE FUNCTION "listing_search_copy"()',
    "listing_search_update": 'AFTER UPDATE OF "sku", "asin" ON "selling_lists_listing" '
    'FOR EACH ROW WHEN (OLD."sku" IS DISTINCT FROM NEW."sku" '
    'OR OLD."asin" IS DISTINCT FROM NEW."asin") EXECUTE FUNCTION "listing_search_copy"()',
    "listing_search_delete": 'AFTER DELETE ON "selling_lists_listing" FOR EACH ROW '
    'EXECUTE FUNCTION "listing_search_delete"()',
    "listing_search_truncate": 'AFTER TRUNCATE ON "selling_lists_listing" FOR EACH STATEMENT '
    'EXECUTE FUNCTION "listing_search_empty"()',
}
FUNCTIONS = {
    "listing_search_copy": f"""
        INSERT INTO "{TABLE}" ("listing_id", "sku", "asin")
        VALUES (NEW."id", NEW."sku", NEW."asin")
        ON CONFLICT ("listing_id") DO UPDATE SET "sku" = excluded."sku", "asin" = excluded."asin";
    """,
    "listing_search_delete": f'DELETE FROM "{TABLE}" WHERE "listing_id" = OLD."id";',
    "listing_search_empty": f'TRUNCATE "{TABLE}";',
}


def _trigram(table: str, name: str, column: str) -> str:
    # What `icontains` writes on PostgreSQL: UPPER(col::text) LIKE UPPER('%…%').
    return (
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
        f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
    )


def create_search_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        # text, not the listing's varchar(n): a longer SKU allowed there one day must not make
        # the trigger (and so the listing's write) fail here.
        f'CREATE TABLE "{TABLE}" ("listing_id" bigint PRIMARY KEY, '
        '"sku" text NOT NULL, "asin" text NOT NULL)'
    )
    for name, body in FUNCTIONS.items():
        schema_editor.execute(
            # The migration's search_path, kept: a session with another one (a data-only
            # restore of pg_dump's output sets it empty) still finds the copy's table.
            f'CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql '
            f"SET search_path FROM CURRENT AS $$ BEGIN {body} RETURN NULL; END $$"
        )
    for name, definition in TRIGGERS.items():
        schema_editor.execute(f'CREATE TRIGGER "{name}" {definition}')
    # The triggers' lock (SHARE ROW EXCLUSIVE) holds off other writers until this commits.
    schema_editor.execute(
        f'INSERT INTO "{TABLE}" ("listing_id", "sku", "asin") '
        'SELECT "id", "sku", "asin" FROM "selling_lists_listing"'
    )
    for name, column in TRIGRAM.items():
        schema_editor.execute(_trigram(TABLE, name, column))
    for name in LISTING_TRIGRAM:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    schema_editor.execute(f'ANALYZE "{TABLE}"')


def drop_search_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in LISTING_TRIGRAM.items():
        schema_editor.execute(_trigram("selling_lists_listing", name, column))
    for name in TRIGGERS:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "selling_lists_listing"')
    for name in FUNCTIONS:
        schema_editor.execute(f'DROP FUNCTION IF EXISTS "{name}"()')
    schema_editor.execute(f'DROP TABLE IF EXISTS "{TABLE}"')


class Migration(migrations.Migration):

    dependencies = [
        ('selling_lists', '0006_lean_indexes'),
    ]

    operations = [
        # The model's state only (not managed): the table is made below, on PostgreSQL.
        migrations.CreateModel(
            name='ListingSearch',
            fields=[
                ('listing', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='selling_lists.listing')),
                ('sku', models.TextField()),
                ('asin', models.TextField()),
            ],
            options={
                'db_table': 'selling_lists_listing_search',
                'managed': False,
            },
        ),
        migrations.RunPython(create_search_table, drop_search_table, elidable=False),
    ]
