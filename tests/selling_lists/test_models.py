import pytest
from django.core.exceptions import ValidationError

from accounts.models import Marketplace
from profiles.models import default_profile
from selling_lists.models import ListingStatus
from tests.factories import (
    ListingFactory,
    SellingListFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def test_selling_list_without_profile_uses_the_default():
    selling_list = SellingListFactory(profile=None)
    assert selling_list.profile == default_profile()


def test_selling_list_marketplace_must_belong_to_the_account():
    selling_list = SellingListFactory()  # its account sells in the US only
    selling_list.marketplace = Marketplace.objects.get(country_code="DE")
    with pytest.raises(ValidationError) as err:
        selling_list.full_clean()
    assert "does not sell in Amazon Germany" in str(err.value)


def test_one_listing_per_account_marketplace_and_sku():
    first = ListingFactory(sku="MUG-1")
    other_list = SellingListFactory(
        amazon_account=first.amazon_account, shopify_store=first.selling_list.shopify_store
    )
    duplicate = ListingFactory.build(selling_list=other_list, sku="MUG-1", variant=first.variant)
    with pytest.raises(ValidationError) as err:
        duplicate.full_clean()
    assert "already linked" in str(err.value)


def test_listing_variant_must_come_from_the_lists_store():
    listing = ListingFactory()
    listing.variant = VariantFactory()  # another store
    with pytest.raises(ValidationError) as err:
        listing.full_clean()
    assert "Selling List's Shopify store" in str(err.value)


def test_fba_listing_is_marked_managed_by_amazon():
    assert ListingFactory(fulfillment_channel="FBA").status == ListingStatus.FBA


def test_override_mode_needing_n_requires_it():
    listing = ListingFactory(override_mode="fixed", override_quantity=None)
    with pytest.raises(ValidationError) as err:
        listing.full_clean()
    assert "override_quantity" in err.value.message_dict


def test_a_listing_override_quantity_is_bounded_to_a_million():
    listing = ListingFactory(override_mode="fixed", override_quantity=5)
    listing.override_quantity = 10**12
    with pytest.raises(ValidationError) as err:
        listing.full_clean()
    assert err.value.message_dict["override_quantity"] == ["Enter at most 1,000,000 units."]
