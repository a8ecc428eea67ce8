"""Reports 2021-06-30 over real HTTP: GET_MERCHANT_LISTINGS_ALL_DATA as Amazon's flat file."""

import httpx

from sandbox.amazon.models import Listing
from sandbox.amazon.reports import MERCHANT_LISTINGS_COLUMNS
from sync.clients.amazon import _Reports


def test_merchant_listings_report_lists_skus_asins_quantities_and_channels(
    amazon_seller, amazon_client
):
    creds = amazon_seller(
        [("FBM-1", 3, "DEFAULT"), ("FBA-1", 8, "AMAZON_NA"), ("FBM-0", 0, "DEFAULT")]
    )
    client = amazon_client(creds)

    report_id = client.request_listings_report()
    status = client.get_report(report_id)
    assert status.processing_status == "DONE"
    rows = {row.sku: row for row in client.iter_listings_report(status.report_document_id)}

    asins = dict(Listing.objects.values_list("sku", "asin"))
    assert {
        sku: (r.asin, r.quantity, r.fulfillment_channel, r.status) for sku, r in rows.items()
    } == {
        "FBA-1": (asins["FBA-1"], None, "AMAZON_NA", "Active"),
        "FBM-0": (asins["FBM-0"], 0, "DEFAULT", "Inactive"),
        "FBM-1": (asins["FBM-1"], 3, "DEFAULT", "Active"),
    }
    assert rows["FBM-1"].item_name == "Sandbox product FBM-1"


def test_report_document_is_tab_separated_with_amazons_header(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller([("SKU-1", 10, "DEFAULT")]))
    report_id = client.request_listings_report()
    document_id = client.get_report(report_id).report_document_id

    url = client._client(_Reports).get_report_document(document_id).payload["url"]
    lines = httpx.get(url).text.splitlines()

    assert lines[0].split("\t") == list(MERCHANT_LISTINGS_COLUMNS)
    for column in ("seller-sku", "asin1", "quantity", "fulfillment-channel", "item-name", "status"):
        assert column in lines[0].split("\t")
    assert len(lines) == 2
    assert len(lines[1].split("\t")) == len(MERCHANT_LISTINGS_COLUMNS)


def test_report_shows_quantity_after_an_applied_patch(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller([("SKU-1", 10, "DEFAULT")]))
    client.patch_quantity("SKU-1", "PRODUCT", 4)

    status = client.get_report(client.request_listings_report())
    [row] = client.iter_listings_report(status.report_document_id)

    assert row.quantity == 4
