import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import AmazonAccount, ShopifyStore, Variant
from tests.factories import AmazonAccountFactory, ShopifyStoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_secrets_are_encrypted_at_rest_and_read_back_in_clear():
    account = AmazonAccountFactory(refresh_token="Atzr|the-real-token", lwa_client_secret="s3cret")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, lwa_client_secret FROM accounts_amazonaccount WHERE id = %s",
            [account.pk],
        )
        stored_token, stored_secret = cursor.fetchone()
    assert "the-real-token" not in stored_token and "s3cret" not in stored_secret
    fresh = AmazonAccount.objects.get(pk=account.pk)
    assert (fresh.refresh_token, fresh.lwa_client_secret) == ("Atzr|the-real-token", "s3cret")


def test_shopify_ids_above_two_to_the_53_are_kept_exactly():
    big = 2**53 + 12345
    variant = VariantFactory(shopify_id=big, inventory_item_id=big + 1)
    fresh = Variant.objects.get(pk=variant.pk)
    assert (fresh.shopify_id, fresh.inventory_item_id) == (big, big + 1)


@pytest.mark.parametrize("domain", ["shop.example.com", "My Shop.myshopify.com", "myshopify.com"])
def test_shop_domain_must_be_a_myshopify_domain(domain):
    store = ShopifyStoreFactory.build(shop_domain=domain)
    with pytest.raises(ValidationError) as err:
        store.full_clean()
    assert "myshopify.com domain" in str(err.value)


def test_client_credentials_store_needs_a_client_id_and_secret():
    store = ShopifyStoreFactory.build(
        auth_method=ShopifyStore.AuthMethod.CLIENT_CREDENTIALS, access_token=""
    )
    with pytest.raises(ValidationError) as err:
        store.full_clean()
    assert set(err.value.message_dict) >= {"client_id", "client_secret"}


def test_seller_id_format_is_explained():
    account = AmazonAccountFactory.build(seller_id="not a seller")
    with pytest.raises(ValidationError) as err:
        account.full_clean()
    assert "Seller Central" in str(err.value)


def test_outside_the_sandbox_overrides_may_only_name_amazon_and_the_shop(settings):
    # The override receives the refresh token and secrets: no other host may be named.
    settings.SANDBOX_ENABLED = False
    account = AmazonAccountFactory.build(
        endpoint="https://attacker.example.com", token_url="http://api.amazon.com/auth/o2/token"
    )
    with pytest.raises(ValidationError) as err:
        account.clean()
    assert set(err.value.message_dict) == {"endpoint", "token_url"}
    AmazonAccountFactory.build(
        endpoint="https://sandbox.sellingpartnerapi-na.amazon.com", token_url=""
    ).clean()
    store = ShopifyStoreFactory.build(base_url="https://attacker.example.com")
    with pytest.raises(ValidationError) as err:
        store.clean()
    assert "base_url" in err.value.message_dict


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("endpoint", "https://sellingpartnerapi-na.amazon.com.attacker.example"),
        ("endpoint", "https://evil.amazon.com"),
        ("endpoint", "https://sellingpartnerapi-eu.amazon.com"),  # another region's host
        ("endpoint", "https://sellingpartnerapi-na.amazon.com:8443"),
        ("endpoint", "https://user:pw@sellingpartnerapi-na.amazon.com"),
        ("endpoint", "https://sellingpartnerapi-na.amazon.com@attacker.example"),
        ("endpoint", "https://sellingpartnerapi-na.amazon.com/elsewhere"),
        ("endpoint", "http://sellingpartnerapi-na.amazon.com"),
        ("token_url", "https://api.amazon.com:444/auth/o2/token"),
        ("token_url", "https://me@api.amazon.com/auth/o2/token"),
        ("token_url", "https://api.amazon.com/other"),
        ("token_url", "https://api.amazon.com.attacker.example/auth/o2/token"),
    ],
)
def test_overrides_are_pinned_to_the_regions_hosts_without_port_or_user(settings, field, url):
    settings.SANDBOX_ENABLED = False
    overrides = {"endpoint": "", "token_url": "", field: url}
    account = AmazonAccountFactory.build(region="NA", **overrides)
    with pytest.raises(ValidationError) as err:
        account.clean()
    message = err.value.message_dict[field][0]
    assert "https://" in message and "no port" in message


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("NA", "https://sellingpartnerapi-na.amazon.com"),
        ("NA", "https://sandbox.sellingpartnerapi-na.amazon.com/"),
        ("EU", "https://sellingpartnerapi-eu.amazon.com"),
        ("FE", "https://sandbox.sellingpartnerapi-fe.amazon.com"),
    ],
)
def test_the_regions_own_hosts_are_accepted(settings, region, endpoint):
    settings.SANDBOX_ENABLED = False
    AmazonAccountFactory.build(
        region=region, endpoint=endpoint, token_url="https://api.amazon.com/auth/o2/token"
    ).clean()


def test_the_endpoint_error_names_the_allowed_hosts(settings):
    settings.SANDBOX_ENABLED = False
    account = AmazonAccountFactory.build(region="EU", endpoint="https://x.example", token_url="")
    with pytest.raises(ValidationError) as err:
        account.clean()
    assert err.value.message_dict["endpoint"] == [
        "The endpoint must be https://sellingpartnerapi-eu.amazon.com or "
        "https://sandbox.sellingpartnerapi-eu.amazon.com (Amazon's SP-API hosts for this "
        "account's region), with no port, user name or path."
    ]


def test_with_the_sandbox_on_credentials_in_an_override_are_still_refused(settings):
    settings.SANDBOX_ENABLED = True
    account = AmazonAccountFactory.build(endpoint="http://u:p@127.0.0.1:8000/sandbox/amazon")
    with pytest.raises(ValidationError) as err:
        account.clean()
    assert "user name and password" in str(err.value)
