"""Management commands that merchants' operators run, over HTTP against the sandbox."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Variant

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_catalogue_command_imports_every_store(sandbox_world, capsys):
    world = sandbox_world(variants=7, locations=1)
    call_command("import_catalogue", "--store", world.store.shop_domain, "--bulk")
    assert Variant.objects.filter(store=world.store).count() == 7
    assert "7 variants" in capsys.readouterr().out


def test_import_catalogue_command_names_an_unknown_store(db):
    with pytest.raises(CommandError, match="No Shopify store is called 'nope'"):
        call_command("import_catalogue", "--store", "nope")
