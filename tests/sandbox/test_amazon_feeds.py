"""Feeds 2021-06-30 over real HTTP: JSON_LISTINGS_FEED upload, states, FATAL, processing report."""

import io
import json
import time

import pytest

from sandbox.amazon.models import Listing
from sandbox.amazon.specs import validate_json_schema
from sync.clients.amazon import _Feeds
from sync.clients.amazon_data import FEED_CONTENT_TYPE, build_quantity_feed

FEED_SCHEMA = "listings-feed-schema-v2.json"
MESSAGE_SCHEMA = "listings-feed-message-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"


def wait_for_feed(client, feed_id, timeout=5.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_feed(feed_id)
        if not seen or seen[-1] != status.processing_status:
            seen.append(status.processing_status)
        if status.processing_status in ("DONE", "FATAL", "CANCELLED"):
            return status, seen
        time.sleep(0.1)
    raise AssertionError(f"feed {feed_id} stuck in {seen}")


def submit_raw_feed(client, content: bytes, feed_type="JSON_LISTINGS_FEED") -> str:
    """Upload any bytes as a feed with the real library calls (to test what our client refuses)."""
    feeds = client._client(_Feeds)
    document = feeds.create_feed_document(io.BytesIO(content), FEED_CONTENT_TYPE)
    response = feeds.create_feed(
        feed_type,
        document.payload["feedDocumentId"],
        marketplaceIds=[client.config.marketplace_id],
    )
    return response.payload["feedId"]


def test_quantity_feed_document_matches_the_official_schemas():
    document = build_quantity_feed("A1SELLER", [("A", "PRODUCT", 0), ("B", "SHOES", 12)])

    validate_json_schema(FEED_SCHEMA, document)
    for message in document["messages"]:
        validate_json_schema(MESSAGE_SCHEMA, message)
    assert [m["messageId"] for m in document["messages"]] == [1, 2]


@pytest.mark.parametrize("bad", [-1, None, 1.5, True])
def test_quantity_feed_refuses_quantities_amazon_must_never_see(bad):
    with pytest.raises(ValueError):
        build_quantity_feed("A1SELLER", [("A", "PRODUCT", bad)])


def test_feed_moves_through_queue_and_progress_then_applies_quantities(
    amazon_seller, amazon_client, amazon_knobs
):
    amazon_knobs(feed_processing_delay_seconds=0.6)
    creds = amazon_seller([("A", 5, "DEFAULT"), ("B", 6, "DEFAULT"), ("C", 7, "DEFAULT")])
    client = amazon_client(creds)

    feed_id = client.submit_quantity_feed([("A", "PRODUCT", 0), ("B", "PRODUCT", 40)])
    status, seen = wait_for_feed(client, feed_id)

    assert seen == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert status.result_document_id
    quantities = dict(Listing.objects.values_list("sku", "quantity"))
    assert quantities == {"A": 0, "B": 40, "C": 7}
    lead_times = {
        listing.sku: listing.attributes["fulfillment_availability"][0]["lead_time_to_ship_max_days"]
        for listing in Listing.objects.all()
    }
    assert lead_times == {"A": 2, "B": 2, "C": 2}, "merge keeps the lead time"

    report = client.get_feed_report(status.result_document_id)
    validate_json_schema(REPORT_SCHEMA, report)
    assert report["header"] == {"sellerId": creds["seller_id"], "version": "2.0", "feedId": feed_id}
    assert report["issues"] == []
    assert report["summary"] == {
        "errors": 0,
        "warnings": 0,
        "messagesProcessed": 2,
        "messagesAccepted": 2,
        "messagesInvalid": 0,
    }


def test_processing_report_lists_unknown_sku_and_invalid_patch_per_message(
    amazon_seller, amazon_client
):
    creds = amazon_seller([("GOOD", 5, "DEFAULT"), ("BAD", 5, "DEFAULT")])
    client = amazon_client(creds)
    document = build_quantity_feed(
        creds["seller_id"], [("GOOD", "PRODUCT", 1), ("GHOST", "PRODUCT", 2), ("BAD", "PRODUCT", 3)]
    )
    # A patch the schema allows but Amazon refuses: no fulfillment_channel_code.
    document["messages"][2]["patches"][0]["value"] = [{"quantity": 3}]
    validate_json_schema(FEED_SCHEMA, document)

    feed_id = submit_raw_feed(client, json.dumps(document).encode())
    status, _ = wait_for_feed(client, feed_id)
    report = client.get_feed_report(status.result_document_id)

    validate_json_schema(REPORT_SCHEMA, report)
    assert status.processing_status == "DONE"
    assert [(i["messageId"], i["sku"], i["severity"]) for i in report["issues"]] == [
        (2, "GHOST", "ERROR"),
        (3, "BAD", "ERROR"),
    ]
    assert "fulfillment_channel_code" in report["issues"][1]["message"]
    assert report["summary"] == {
        "errors": 2,
        "warnings": 0,
        "messagesProcessed": 3,
        "messagesAccepted": 1,
        "messagesInvalid": 2,
    }
    assert dict(Listing.objects.values_list("sku", "quantity")) == {"GOOD": 1, "BAD": 5}


@pytest.mark.parametrize(
    "content",
    [b"this is not json", json.dumps({"header": {"sellerId": "X"}, "messages": []}).encode()],
    ids=["not JSON", "fails the feed schema"],
)
def test_invalid_feed_document_ends_fatal_with_a_report(content, amazon_seller, amazon_client):
    creds = amazon_seller([("A", 5, "DEFAULT")])
    client = amazon_client(creds)

    feed_id = submit_raw_feed(client, content)
    status, _ = wait_for_feed(client, feed_id)

    assert status.processing_status == "FATAL"
    report = client.get_feed_report(status.result_document_id)
    validate_json_schema(REPORT_SCHEMA, report)
    assert report["summary"]["errors"] == 1
    assert report["summary"]["messagesProcessed"] == 0
    assert Listing.objects.get(sku="A").quantity == 5


def test_retired_flat_file_feed_type_ends_fatal(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller())

    feed_id = submit_raw_feed(
        client, b"sku\tquantity\nSKU-1\t3\n", "POST_INVENTORY_AVAILABILITY_DATA"
    )
    status, _ = wait_for_feed(client, feed_id)

    assert status.processing_status == "FATAL"
    assert Listing.objects.get(sku="SKU-1").quantity == 10


def test_feed_document_url_is_absolute_and_served_by_the_sandbox(
    amazon_seller, amazon_client, live_server
):
    client = amazon_client(amazon_seller())
    feeds = client._client(_Feeds)

    document = feeds.create_feed_document(None, FEED_CONTENT_TYPE).payload

    assert document["feedDocumentId"].startswith("amzn1.tortuga.")
    assert document["url"].startswith(f"{live_server.url}/sandbox/amazon/documents/")


def test_feed_with_report_request_includes_items_in_the_processing_report(
    amazon_seller, amazon_client
):
    creds = amazon_seller([("A", 5, "DEFAULT")])
    client = amazon_client(creds)
    document = build_quantity_feed(creds["seller_id"], [("A", "PRODUCT", 8)])
    document["header"]["report"] = {
        "includedData": ["fulfillmentAvailability"],
        "apiVersion": "2021-08-01",
    }

    feed_id = submit_raw_feed(client, json.dumps(document).encode())
    status, _ = wait_for_feed(client, feed_id)
    report = client.get_feed_report(status.result_document_id)

    validate_json_schema(REPORT_SCHEMA, report)
    assert report["items"] == [
        {
            "sku": "A",
            "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 8}],
        }
    ]
