"""Sandbox actions change the simulated vendors' state: they need change permission."""

import pytest
from django.contrib.auth.models import Permission

from sandbox.amazon.models import Listing, Order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff_with(client, *codenames):
    user = UserFactory(username="sandbox-staff")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def test_view_only_staff_cannot_place_a_sandbox_order(amazon_seller, client):
    amazon_seller([("SKU-1", 10, "DEFAULT")])
    listing = Listing.objects.get(sku="SKU-1")
    viewer = staff_with(client, "view_listing")

    response = viewer.post(
        "/admin/sandbox_amazon/listing/",
        {"action": "place_mfn_order", "_selected_action": [listing.pk]},
        follow=True,
    )

    assert "Placed 1 order." not in response.content.decode()
    assert not Order.objects.exists()
    listing.refresh_from_db()
    assert listing.quantity == 10


def test_staff_with_change_permission_can_place_a_sandbox_order(amazon_seller, client):
    amazon_seller([("SKU-1", 10, "DEFAULT")])
    listing = Listing.objects.get(sku="SKU-1")
    operator = staff_with(client, "view_listing", "change_listing")

    response = operator.post(
        "/admin/sandbox_amazon/listing/",
        {"action": "place_mfn_order", "_selected_action": [listing.pk]},
        follow=True,
    )

    assert "Placed 1 order." in response.content.decode()
    assert Order.objects.count() == 1
