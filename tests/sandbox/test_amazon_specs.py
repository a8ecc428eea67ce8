"""The spec validator itself, the contract check, and bulk seeding."""

import json

import jsonschema
import pytest

from sandbox.amazon.models import Listing, Seller
from sandbox.amazon.seed import seed_seller
from sandbox.amazon.specs import (
    load_spec,
    specs_dir,
    validate_json_schema,
    validate_operation_response,
    validate_response,
)


def test_official_examples_pass_the_validator():
    example = load_spec("listingsItems_2021-08-01.json")["paths"][
        "/listings/2021-08-01/items/{sellerId}/{sku}"
    ]["get"]["responses"]["200"]["examples"]["application/json"]
    validate_response("listingsItems_2021-08-01.json", "Item", example)
    for name in ("listings-feed-schema-v2", "listings-feed-processing-report-schema-v2"):
        document = json.loads((specs_dir() / f"{name}.example.json").read_text())
        validate_json_schema(f"{name}.json", document)


def test_strict_validation_catches_a_misspelt_key_and_a_wrong_enum():
    good = {
        "feedId": "1",
        "feedType": "JSON_LISTINGS_FEED",
        "createdTime": "2025-01-01T00:00:00Z",
        "processingStatus": "DONE",
    }
    validate_response("feeds_2021-06-30.json", "Feed", good)

    with pytest.raises(jsonschema.ValidationError):
        validate_response("feeds_2021-06-30.json", "Feed", {**good, "resultFeedDocumentID": "x"})
    with pytest.raises(jsonschema.ValidationError):
        validate_response("feeds_2021-06-30.json", "Feed", {**good, "processingStatus": "OK"})
    with pytest.raises(jsonschema.ValidationError):
        validate_response("feeds_2021-06-30.json", "Feed", {**good, "createdTime": "yesterday"})


def test_operation_lookup_uses_the_schema_of_the_status_code():
    assert (
        validate_operation_response(
            "POST", "/feeds/2021-06-30/documents", 201, {"feedDocumentId": "d", "url": "http://x/y"}
        )
        == "createFeedDocument"
    )
    assert (
        validate_operation_response(
            "GET",
            "/orders/2026-01-01/orders",
            429,
            {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]},
        )
        == "searchOrders"
    )
    with pytest.raises(jsonschema.ValidationError):
        validate_operation_response("GET", "/orders/2026-01-01/orders", 200, {"Orders": []})


def test_contract_check_validates_every_recorded_answer(
    amazon_seller, amazon_client, amazon_contract
):
    client = amazon_client(amazon_seller([("SKU-1", 3, "DEFAULT")]))
    client.get_listing("SKU-1")
    client.patch_quantity("SKU-1", "PRODUCT", 4)

    assert amazon_contract.check() == 2  # the token call is checked apart, by its LWA shape


def test_seed_creates_seller_and_listings_in_bulk(transactional_db, django_assert_max_num_queries):
    listings = [
        (f"SKU-{n:06d}", n % 7, "AMAZON_NA" if n % 10 == 0 else "DEFAULT") for n in range(20_000)
    ]

    with django_assert_max_num_queries(60):  # bulk writes: queries do not grow with listings
        creds = seed_seller(listings=listings)

    assert set(creds) == {
        "seller_id",
        "refresh_token",
        "client_id",
        "client_secret",
        "marketplace_ids",
    }
    assert creds["marketplace_ids"] == ["ATVPDKIKX0DER"]
    seller = Seller.objects.get(seller_id=creds["seller_id"])
    assert seller.listings.count() == 20_000
    assert Listing.objects.filter(fulfillment_channel_code="AMAZON_NA").count() == 2_000
    assert Listing.objects.get(sku="SKU-000013").quantity == 13 % 7


def test_seed_refuses_unknown_channels_and_negative_stock(transactional_db):
    with pytest.raises(ValueError):
        seed_seller(listings=[("A", 1, "MFN")])
    with pytest.raises(ValueError):
        seed_seller(listings=[("A", -1, "DEFAULT")])
    assert not Seller.objects.exists()
