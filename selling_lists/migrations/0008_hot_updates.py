"""A recompute's and a push's writes to the listing table become HOT updates (docs/BENCHMARKS.md,
"HOT listing updates").

PostgreSQL writes an UPDATE into the row's own page, with no new entry in any index ("heap-only
tuple"), when no indexed column changes and the page has room for the new version. A recompute
that moves 100,000 listings changes each one's status (Linked → Pending Qty Update), and two
indexes read the status: so every row got a new entry in all eight indexes of the table, 2.7 s
of a 9 s recompute, against 0.4 s as HOT updates.

- The two status indexes go: `listing_status_sku` (the changelist's status filter) and the
  partial `listing_unsynced_sku` ("Out of sync"). Those filters now read the table: 110 ms and
  170 ms at 300,000 listings, within the changelist's 300 ms.
- `fillfactor = 50` leaves half of each page free, room for a new version of every row in it:
  a catalogue-wide recompute updates every row of a page in one transaction, and the space of
  the old versions is reclaimed (pruned) when the page is next read. Rows already stored keep
  their page until they move; `VACUUM FULL selling_lists_listing` (or pg_repack) repacks them
  at once (docs/deployment.md).

The fillfactor is PostgreSQL's; on SQLite only the indexes go.
"""

from django.db import migrations

TABLE = "selling_lists_listing"
FILLFACTOR = 50


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" SET (fillfactor = {FILLFACTOR})')


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" RESET (fillfactor)')


class Migration(migrations.Migration):
    dependencies = [
        ("selling_lists", "0007_listing_search_table"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="listing", name="listing_status_sku"),
        migrations.RemoveIndex(model_name="listing", name="listing_unsynced_sku"),
        migrations.RunPython(leave_room, fill_pages, elidable=False),
    ]
