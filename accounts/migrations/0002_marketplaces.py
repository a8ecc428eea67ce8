from django.db import migrations

from accounts.marketplaces import MARKETPLACES


def add_marketplaces(apps, schema_editor):
    Marketplace = apps.get_model("accounts", "Marketplace")
    for m in MARKETPLACES:
        Marketplace.objects.update_or_create(
            id=m.id, defaults={"country_code": m.country_code, "country": m.country,
                               "region": m.region},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(add_marketplaces, migrations.RunPython.noop)]
