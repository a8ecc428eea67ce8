"""The Viewer, Operator and Administrator groups (accounts/roles.py)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from accounts.roles import apply_roles

    apply_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_operate_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("profiles", "0003_bound_quantities"),
        ("selling_lists", "0002_bound_quantities"),
        ("sync", "0002_amazon_orders"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
