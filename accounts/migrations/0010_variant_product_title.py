"""The product's title stored on each variant, so the Variants changelist's order
(product title, title, -id) is one index to walk, not a join and a sort of every variant
(docs/BENCHMARKS.md, "Changelists"). Existing rows are filled in one statement, before the
index is built."""

from django.db import migrations, models


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        sql = (
            "UPDATE accounts_variant v SET product_title = p.title "
            "FROM accounts_product p WHERE p.id = v.product_id"
        )
    else:
        sql = (
            "UPDATE accounts_variant SET product_title = (SELECT title FROM accounts_product "
            "WHERE accounts_product.id = accounts_variant.product_id)"
        )
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_changelist_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="variant",
            name="product_title",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterModelOptions(
            name="variant",
            options={"ordering": ["product_title", "title"]},
        ),
        migrations.RemoveIndex(
            model_name="variant",
            name="variant_product_order",
        ),
        migrations.AddIndex(
            model_name="variant",
            index=models.Index(
                fields=["product_title", "title", "-id"], name="variant_changelist_order"
            ),
        ),
    ]
