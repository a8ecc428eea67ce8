""" "Test connection" on accounts and stores says plainly what works, over HTTP to the sandbox."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AmazonAccount, ShopifyStore
from sync.clients.factory import amazon_client, shopify_client
from tests.factories import AmazonAccountFactory, ShopifyStoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_action(client, model, pk):
    url = reverse(f"admin:accounts_{model}_changelist")
    response = client.post(url, {"action": "test_connection", "_selected_action": [pk]})
    assert response.status_code == 302
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_amazon_account_connects_in_every_marketplace(sandbox_world, admin_client):
    world = sandbox_world(variants=1, marketplaces=("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"))
    found = run_action(admin_client, "amazonaccount", world.account.pk)
    assert [level for level, _ in found] == ["success", "success"]
    assert {"Amazon Canada", "Amazon United States"} == {
        country
        for _, message in found
        for country in ("Amazon Canada", "Amazon United States")
        if country in message
    }


def test_wrong_amazon_refresh_token_is_reported_as_refused(sandbox_world, admin_client):
    world = sandbox_world(variants=1)
    account = AmazonAccount.objects.get(pk=world.account.pk)
    account.refresh_token = "Atzr|wrong"
    account.save()
    [(level, message)] = run_action(admin_client, "amazonaccount", world.account.pk)
    assert level == "error" and "Amazon refused the credentials" in message


def test_shopify_store_connects_and_says_webhooks_are_missing(sandbox_world, admin_client):
    world = sandbox_world(variants=1, locations=2)
    found = run_action(admin_client, "shopifystore", world.store.pk)
    assert found[0][0] == "success" and "2 active location(s)" in found[0][1]
    assert found[1] == (
        "error",
        f"{world.store}: no webhook subscriptions — stock changes will "
        "only arrive with the periodic reconcile.",
    )


def test_wrong_shopify_token_is_reported_as_refused(sandbox_world, admin_client):
    world = sandbox_world(variants=1)
    store = ShopifyStore.objects.get(pk=world.store.pk)
    store.access_token = "shpat_wrong"
    store.save()
    [(level, message)] = run_action(admin_client, "shopifystore", world.store.pk)
    assert level == "error" and "Shopify refused the credentials" in message


def test_test_connection_clients_are_bounded_by_the_interactive_timeout(settings):
    settings.SYNC_INTERACTIVE_TIMEOUT = 7.0

    amazon = amazon_client(AmazonAccountFactory(), "ATVPDKIKX0DER", interactive=True)
    shopify = shopify_client(ShopifyStoreFactory(), interactive=True)

    assert amazon.timeout == 7.0
    assert (shopify.timeout, shopify.max_retries) == ((7.0, 7.0), 2)
