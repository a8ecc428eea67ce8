import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from profiles.models import GlobalProfile, default_profile
from tests.factories import GlobalProfileFactory, LocationFactory

pytestmark = pytest.mark.django_db


def test_a_fresh_database_has_exactly_one_default_profile():
    assert GlobalProfile.objects.filter(is_default=True).count() == 1


def test_the_database_refuses_a_second_default_profile():
    with pytest.raises(IntegrityError), transaction.atomic():
        GlobalProfile.objects.bulk_create([GlobalProfile(name="Second", is_default=True)])


def test_making_a_profile_the_default_moves_the_flag():
    old = default_profile()
    new = GlobalProfileFactory(is_default=True)
    old.refresh_from_db()
    assert not old.is_default and default_profile() == new


def test_the_default_profile_cannot_be_unset_without_another_default():
    profile = default_profile()
    profile.is_default = False
    with pytest.raises(ValidationError) as err:
        profile.full_clean()
    assert "make another profile the default" in str(err.value)


@pytest.mark.parametrize("mode", ["fixed", "cap", "buffer"])
def test_modes_with_a_number_require_it(mode):
    with pytest.raises(ValidationError) as err:
        GlobalProfileFactory.build(mode=mode, quantity=None).full_clean()
    assert "needs a quantity" in str(err.value)


def test_metafield_source_needs_a_namespace_and_key():
    with pytest.raises(ValidationError) as err:
        GlobalProfileFactory.build(source="metafield", metafield_key="").full_clean()
    assert "namespace.key" in str(err.value)
    with pytest.raises(ValidationError):
        GlobalProfileFactory.build(source="metafield", metafield_key="nodot").full_clean()


def test_profile_rule_uses_chosen_locations_when_use_warehouse_is_on():
    location = LocationFactory()
    profile = GlobalProfileFactory(use_warehouse=True)
    profile.locations.add(location)
    assert profile.to_rule().location_ids == frozenset({location.pk})
    profile.use_warehouse = False
    assert profile.to_rule().location_ids is None


def test_listing_override_replaces_mode_and_quantity():
    profile = GlobalProfileFactory(mode="cap", quantity=10)
    rule = profile.to_rule(override_mode="fixed", override_quantity=3)
    assert (rule.mode, rule.quantity) == ("fixed", 3)


@pytest.mark.parametrize(
    "field", ["quantity", "out_of_stock_threshold", "max_quantity", "missing_stock_quantity"]
)
def test_profile_quantities_are_bounded_to_a_million(field):
    values = {"mode": "cap", "quantity": 5, field: 10**12}
    profile = GlobalProfileFactory.build(**values)
    with pytest.raises(ValidationError) as err:
        profile.full_clean()
    assert err.value.message_dict[field] == ["Enter at most 1,000,000 units."]
    setattr(profile, field, 1_000_000)
    profile.full_clean()


def test_the_profile_page_refuses_a_quantity_of_ten_to_the_twelfth(admin_client):
    from django.urls import reverse

    response = admin_client.post(
        reverse("admin:profiles_globalprofile_add"),
        {
            "name": "Too many",
            "mode": "fixed",
            "quantity": str(10**12),
            "source": "available",
            "missing_stock": "keep",
            "fixed_after_sale": "lower",
        },
    )
    assert response.status_code == 200
    assert "Enter at most 1,000,000 units." in response.content.decode()
    assert not GlobalProfile.objects.filter(name="Too many").exists()
