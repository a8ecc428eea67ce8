"""Orders 2026-01-01 searchOrders over real HTTP; placing and cancelling orders in the sandbox."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from sp_api.api import Orders
from sp_api.auth import AccessTokenClient

from sandbox.amazon.models import Listing, Order
from sandbox.amazon.orders import OrderError, cancel_order, place_order
from sync.clients.amazon import _Orders
from sync.clients.errors import MarketplaceError


def test_mfn_order_lowers_amazon_quantity_and_cancel_restores_it_once(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 10, "DEFAULT")])
    client = amazon_client(creds)
    listing = Listing.objects.get(sku="SKU-1")

    order = place_order(listing=listing, quantity=3)
    assert order.fulfilled_by == "MERCHANT"
    assert client.get_listing("SKU-1").quantity == 7

    assert cancel_order(order=order) is True
    assert cancel_order(order=order) is False, "a second cancel gives nothing back"
    assert client.get_listing("SKU-1").quantity == 10


def test_order_beyond_the_amazon_quantity_is_refused(amazon_seller):
    amazon_seller([("SKU-1", 1, "DEFAULT")])

    with pytest.raises(OrderError):
        place_order(listing=Listing.objects.get(sku="SKU-1"), quantity=2)
    assert Order.objects.count() == 0


def test_search_orders_walks_every_page_with_items(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 50, "DEFAULT")])
    client = amazon_client(creds)
    listing = Listing.objects.get(sku="SKU-1")
    start = timezone.now() - timedelta(seconds=1)
    placed = [place_order(listing=listing, quantity=n) for n in (1, 2, 3, 4, 5)]

    found = list(client.search_orders(start, page_size=2))

    assert [o.order_id for o in found] == [o.order_id for o in placed]
    assert [o.items[0].quantity_ordered for o in found] == [1, 2, 3, 4, 5]
    assert {o.items[0].sku for o in found} == {"SKU-1"}
    assert {(o.fulfilled_by, o.fulfillment_status) for o in found} == {("MERCHANT", "UNSHIPPED")}
    assert all(o.last_updated_time.tzinfo is not None for o in found)


def test_search_orders_filters_by_fulfilled_by(amazon_seller, amazon_client):
    creds = amazon_seller([("FBM-1", 5, "DEFAULT"), ("FBA-1", 5, "AMAZON_NA")])
    client = amazon_client(creds)
    start = timezone.now() - timedelta(seconds=1)
    mfn = place_order(listing=Listing.objects.get(sku="FBM-1"))
    afn = place_order(listing=Listing.objects.get(sku="FBA-1"))

    merchant = [o.order_id for o in client.search_orders(start, fulfilled_by="MERCHANT")]
    amazon = [o.order_id for o in client.search_orders(start, fulfilled_by="AMAZON")]

    assert merchant == [mfn.order_id]
    assert amazon == [afn.order_id]
    assert afn.fulfilled_by == "AMAZON"


def test_cancelled_order_shows_up_as_updated_and_cancelled(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 5, "DEFAULT")])
    client = amazon_client(creds)
    order = place_order(listing=Listing.objects.get(sku="SKU-1"))
    after_placing = timezone.now()
    cancel_order(order=order)

    [found] = client.search_orders(after_placing)
    cancelled = list(client.search_orders(after_placing, fulfillment_statuses=["CANCELLED"]))
    unshipped = list(client.search_orders(after_placing, fulfillment_statuses=["UNSHIPPED"]))

    assert (found.order_id, found.fulfillment_status) == (order.order_id, "CANCELLED")
    assert [o.order_id for o in cancelled] == [order.order_id]
    assert unshipped == []


def test_orders_updated_before_the_window_are_left_out(amazon_seller, amazon_client):
    creds = amazon_seller([("SKU-1", 5, "DEFAULT")])
    client = amazon_client(creds)
    place_order(listing=Listing.objects.get(sku="SKU-1"))

    assert list(client.search_orders(timezone.now() + timedelta(seconds=1))) == []


def test_library_host_header_breaks_on_http_endpoints_and_our_client_fixes_it(
    amazon_seller, amazon_client, amazon_config
):
    """sp_api sends Host = endpoint[8:]: fine for https://, garbage for the sandbox's http://.

    The unchanged library even hides the resulting 400 as an empty answer; AmazonClient, which
    only overrides the Host header and the token URL, reads the same order.
    """
    creds = amazon_seller([("SKU-1", 5, "DEFAULT")])
    client = amazon_client(creds)  # also installs the contract check and clears the token cache
    config = amazon_config(creds)
    order = place_order(listing=Listing.objects.get(sku="SKU-1"))
    token_url = urlsplit(config.token_url)

    class SandboxToken(AccessTokenClient):
        scheme, host, path = "http://", token_url.netloc, token_url.path

    class Marketplace:
        endpoint, marketplace_id, region = config.endpoint, config.marketplace_id, "us-east-1"

    orders = Orders(
        marketplace=Marketplace,
        version="2026-01-01",
        credentials={
            "refresh_token": creds["refresh_token"],
            "lwa_app_id": creds["client_id"],
            "lwa_client_secret": creds["client_secret"],
        },
        auth_token_client_class=SandboxToken,
    )
    since = timezone.now() - timedelta(minutes=5)
    try:
        assert orders.headers["host"] != urlsplit(config.endpoint).netloc
        raw = orders.search_orders(lastUpdatedAfter=since.isoformat(), fulfilledBy=["MERCHANT"])
    finally:
        orders.close()
        orders._auth._transport.close()

    assert raw.payload.get("orders") is None, "the library swallowed Django's 400 Bad Request"
    assert [o.order_id for o in client.search_orders(since, "MERCHANT")] == [order.order_id]


def test_search_without_a_time_window_is_invalid_input(amazon_seller, amazon_client):
    client = amazon_client(amazon_seller())

    orders = client._client(_Orders, version="2026-01-01")
    with pytest.raises(MarketplaceError) as error:
        client._call(lambda: orders.search_orders(marketplaceIds=["ATVPDKIKX0DER"]))

    assert error.value.status == 400
    assert error.value.code == "InvalidInput"


def test_admin_actions_place_an_mfn_order_and_cancel_it(amazon_seller, admin_client):
    amazon_seller([("SKU-1", 10, "DEFAULT")])
    listing = Listing.objects.get(sku="SKU-1")

    placed = admin_client.post(
        "/admin/sandbox_amazon/listing/",
        {"action": "place_mfn_order", "_selected_action": [listing.pk]},
        follow=True,
    )
    order = Order.objects.get()
    cancelled = admin_client.post(
        "/admin/sandbox_amazon/order/",
        {"action": "cancel_orders", "_selected_action": [order.pk]},
        follow=True,
    )

    assert "Placed 1 order." in placed.content.decode()
    assert order.fulfilled_by == "MERCHANT"
    assert "Cancelled 1 order." in cancelled.content.decode()
    listing.refresh_from_db()
    assert listing.quantity == 10
    assert Order.objects.get().fulfillment_status == "CANCELLED"


@pytest.mark.parametrize(
    "page", ["seller", "listing", "order", "sandboxsettings", "ratebucket", "feed", "report"]
)
def test_admin_pages_show_sandbox_amazon_state(page, amazon_seller, admin_client):
    amazon_seller([("SKU-1", 10, "DEFAULT")])
    place_order(listing=Listing.objects.get(sku="SKU-1"))

    response = admin_client.get(f"/admin/sandbox_amazon/{page}/")

    assert response.status_code == 200
