from django.db import migrations


def add_default_profile(apps, schema_editor):
    GlobalProfile = apps.get_model("profiles", "GlobalProfile")
    if not GlobalProfile.objects.filter(is_default=True).exists():
        GlobalProfile.objects.create(name="Default — Shopify stock", is_default=True,
                                     mode="product")


class Migration(migrations.Migration):
    dependencies = [("profiles", "0001_initial")]
    operations = [migrations.RunPython(add_default_profile, migrations.RunPython.noop)]
