"""Login with Amazon tokens and access-token checks of the Amazon sandbox, over real HTTP."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from sandbox.amazon.models import AccessToken
from sync.clients.errors import AuthenticationFailed


def token_request(live_server, **form):
    return httpx.post(f"{live_server.url}/sandbox/amazon/auth/o2/token", data=form)


def test_token_endpoint_issues_one_hour_bearer_tokens(amazon_seller, amazon_contract, live_server):
    creds = amazon_seller()

    response = token_request(
        live_server,
        grant_type="refresh_token",
        refresh_token=creds["refresh_token"],
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
    )

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == creds["refresh_token"]
    assert body["access_token"].startswith("Atza|")


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "unknown"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|revoked"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_refuses_bad_credentials_in_lwa_error_shape(
    change, status, error, amazon_seller, amazon_contract, live_server
):
    creds = amazon_seller()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": creds["refresh_token"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        **change,
    }

    response = token_request(live_server, **form)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_client_turns_refused_credentials_into_authentication_failed(amazon_seller, amazon_client):
    creds = amazon_seller()
    client = amazon_client(creds, client_secret="not-the-secret")

    with pytest.raises(AuthenticationFailed) as error:
        client.get_listing("SKU-1")

    assert error.value.code == "invalid_client"
    assert error.value.status == 401


def test_api_call_without_access_token_is_403_unauthorized(
    amazon_seller, amazon_contract, live_server
):
    creds = amazon_seller()

    response = httpx.get(
        f"{live_server.url}/sandbox/amazon/listings/2021-08-01/items/{creds['seller_id']}/SKU-1",
        params={"marketplaceIds": "ATVPDKIKX0DER"},
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"


def test_expired_token_is_refused_and_the_next_call_fetches_a_new_one(amazon_seller, amazon_client):
    creds = amazon_seller()
    client = amazon_client(creds)
    assert client.get_listing("SKU-1").quantity == 10
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(AuthenticationFailed) as error:
        client.get_listing("SKU-1")
    assert "expired" in error.value.message

    # The client dropped the cached token, so a retry logs in again.
    assert client.get_listing("SKU-1").quantity == 10
    assert AccessToken.objects.count() == 2


def test_token_of_one_seller_cannot_read_another_sellers_listings(amazon_seller, amazon_client):
    mine = amazon_seller()
    theirs = amazon_seller()
    client = amazon_client(mine, seller_id=theirs["seller_id"])

    with pytest.raises(AuthenticationFailed):
        client.get_listing("SKU-1")


def test_connection_check_names_the_seller_and_marketplace(amazon_seller, amazon_client):
    creds = amazon_seller()

    message = amazon_client(creds).test_connection()

    assert creds["seller_id"] in message
    assert "ATVPDKIKX0DER" in message


def test_connection_check_raises_for_a_revoked_refresh_token(amazon_seller, amazon_client):
    creds = amazon_seller()

    with pytest.raises(AuthenticationFailed) as error:
        amazon_client(creds, refresh_token="Atzr|revoked").test_connection()

    assert error.value.code == "invalid_grant"
