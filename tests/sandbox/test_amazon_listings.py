"""Listings Items 2021-08-01 over real HTTP: reads, merge/replace patches, INVALID, FBA, delay."""

import time

import pytest

from sandbox.amazon.models import Listing
from sync.clients.amazon import _ListingsItems, quantity_patch
from sync.clients.errors import NotFound


def test_get_listing_returns_product_type_status_and_default_quantity(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    listing = amazon_client(creds).get_listing("SKU-1")

    assert listing.sku == "SKU-1"
    assert listing.product_type == "PRODUCT"
    assert listing.asin.startswith("B0")
    assert listing.status == ("BUYABLE", "DISCOVERABLE")
    assert listing.fulfillment_channels == ("DEFAULT",)
    assert listing.quantity == 10
    assert not listing.is_fba


def test_listing_at_quantity_zero_is_discoverable_but_not_buyable(amazon_seller, amazon_client):
    creds = amazon_seller([("EMPTY", 0, "DEFAULT")])
    listing = amazon_client(creds).get_listing("EMPTY")

    assert listing.quantity == 0
    assert listing.status == ("DISCOVERABLE",)


def test_patch_quantity_merge_sets_quantity_and_keeps_lead_time(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    result = client.patch_quantity("SKU-1", "PRODUCT", 7)

    assert result.accepted and result.submission_id and result.issues == ()
    assert client.get_listing("SKU-1").quantity == 7
    stored = Listing.objects.get(sku="SKU-1")
    assert stored.attributes["fulfillment_availability"] == [
        {
            "fulfillment_channel_code": "DEFAULT",
            "quantity": 7,
            "lead_time_to_ship_max_days": 2,
            "marketplace_id": "ATVPDKIKX0DER",
        }
    ]


def test_replace_drops_the_lead_time_it_does_not_repeat(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)
    listings = client._client(_ListingsItems)
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }
        ],
    }
    response = listings.patch_listings_item(
        creds["seller_id"], "SKU-1", marketplaceIds=["ATVPDKIKX0DER"], body=body
    )

    assert response.payload["status"] == "ACCEPTED"
    entry = Listing.objects.get(sku="SKU-1").attributes["fulfillment_availability"]
    assert entry == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 3, "marketplace_id": "ATVPDKIKX0DER"}
    ]


BAD_PATCHES = {
    "missing channel code": {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"quantity": 4}],
    },
    "camelCase path": {
        "op": "merge",
        "path": "/attributes/fulfillmentAvailability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
    },
    "negative quantity": {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}],
    },
    "non-integer quantity": {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": "4"}],
    },
    "nested path": {
        "op": "replace",
        "path": "/attributes/fulfillment_availability/0/quantity",
        "value": [{"quantity": 4}],
    },
    "not an attribute": {
        "op": "replace",
        "path": "/summaries/status",
        "value": [{"status": "BUYABLE"}],
    },
}


@pytest.mark.parametrize("case", BAD_PATCHES, ids=list(BAD_PATCHES))
def test_bad_patch_is_answered_200_invalid_with_issues_and_changes_nothing(
    case, amazon_seller, amazon_client
):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    response = client._client(_ListingsItems).patch_listings_item(
        creds["seller_id"],
        "SKU-1",
        marketplaceIds=["ATVPDKIKX0DER"],
        body={"productType": "PRODUCT", "patches": [BAD_PATCHES[case]]},
    )

    assert response.payload["status"] == "INVALID"
    assert response.payload["issues"], "INVALID must say why"
    assert all(issue["severity"] == "ERROR" for issue in response.payload["issues"])
    assert client.get_listing("SKU-1").quantity == 10


def test_camel_case_path_gets_amazons_invalid_attributes_code(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    response = client._client(_ListingsItems).patch_listings_item(
        creds["seller_id"],
        "SKU-1",
        marketplaceIds=["ATVPDKIKX0DER"],
        body={"productType": "PRODUCT", "patches": [BAD_PATCHES["camelCase path"]]},
    )

    assert [i["code"] for i in response.payload["issues"]] == ["90000900"]


def test_unknown_sku_is_not_found_for_get_and_patch(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller())

    with pytest.raises(NotFound) as read:
        client.get_listing("NOPE")
    with pytest.raises(NotFound):
        client.patch_quantity("NOPE", "PRODUCT", 1)
    assert read.value.status == 404
    assert read.value.code == "NotFound"


def test_patching_default_onto_fba_sku_adds_a_second_entry(amazon_seller, amazon_client):
    creds = amazon_seller([("FBA-1", 4, "AMAZON_NA")])
    client = amazon_client(creds)
    before = client.get_listing("FBA-1")
    assert before.is_fba and before.quantity is None
    assert before.fulfillment_channels == ("AMAZON_NA",)

    assert client.patch_quantity("FBA-1", "PRODUCT", 9).accepted

    after = client.get_listing("FBA-1")
    assert after.fulfillment_channels == ("AMAZON_NA", "DEFAULT")
    assert after.quantity == 9
    assert Listing.objects.get(sku="FBA-1").quantity == 4, "the AFN stock is untouched"


def test_accepted_change_shows_only_after_the_apply_delay(
    amazon_seller, amazon_client, amazon_knobs
):
    amazon_knobs(apply_delay_seconds=0.6)
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    assert client.patch_quantity("SKU-1", "PRODUCT", 2).accepted
    assert client.get_listing("SKU-1").quantity == 10, "ACCEPTED is not applied"

    time.sleep(0.7)
    assert client.get_listing("SKU-1").quantity == 2


def test_validation_preview_validates_without_applying(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)

    response = client._client(_ListingsItems).patch_listings_item(
        creds["seller_id"],
        "SKU-1",
        marketplaceIds=["ATVPDKIKX0DER"],
        mode="VALIDATION_PREVIEW",
        body={"productType": "PRODUCT", "patches": [quantity_patch(1)]},
    )

    assert response.payload["status"] == "VALID"
    assert client.get_listing("SKU-1").quantity == 10


def test_wrong_product_type_is_invalid(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller([("SKU-1", 10, "DEFAULT")]))

    result = client.patch_quantity("SKU-1", "LUGGAGE", 3)

    assert result.status == "INVALID"
    assert "LUGGAGE" in result.issues[0].message
