"""Cost-based throttling: extensions.cost on every answer, THROTTLED when the bucket is empty,
and the real client pacing itself so that it never is."""

import time

import requests
from django.utils import timezone

from sandbox.shopify.models import Shop

from .shopify_fixtures import *  # noqa: F403  (pytest fixtures)

# Requested cost 2 + 5 = 7; with the seeded locations it actually costs 2 + 2 = 4.
SMALL_QUERY = "{ locations(first: 5) { nodes { id } } }"


def _post(url, token, query=SMALL_QUERY):
    return requests.post(
        url, json={"query": query}, headers={"X-Shopify-Access-Token": token}, timeout=10
    ).json()


def test_every_answer_carries_the_query_cost_and_the_bucket_state(
    shopify_shop, shopify_graphql_url
):
    creds, _ = shopify_shop(variants=1, locations=2)
    body = _post(shopify_graphql_url(creds["shop"]), creds["access_token"])
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 7
    assert cost["actualQueryCost"] == 4
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    assert 1990 <= cost["throttleStatus"]["currentlyAvailable"] <= 2000
    mutation = _post(
        shopify_graphql_url(creds["shop"]),
        creds["access_token"],
        'mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") '
        "{ userErrors { message } } }",
    )
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10


def test_an_empty_bucket_answers_throttled(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=1, locations=2, bucket_size=20, restore_rate=1)
    url = shopify_graphql_url(creds["shop"])
    answers = [_post(url, creds["access_token"]) for _ in range(8)]
    throttled = [a for a in answers if "errors" in a]
    assert throttled, "a 20-point bucket cannot serve eight 4-point queries at once"
    assert throttled[0]["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert throttled[0]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 7
    assert Shop.objects.get(domain=creds["shop"]).throttled_requests == len(throttled)


def test_a_query_above_the_single_query_limit_is_refused(shopify_shop, shopify_graphql_url):
    creds, _ = shopify_shop(variants=1, locations=1)
    body = _post(
        shopify_graphql_url(creds["shop"]),
        creds["access_token"],
        "{ productVariants(first: 250) { nodes { inventoryItem { inventoryLevels(first: 10) "
        "{ nodes { id } } } } } }",
    )
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_the_client_paces_itself_and_is_never_throttled(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=2, bucket_size=30, restore_rate=50)
    client = shopify_client(creds)
    started = time.monotonic()
    for _ in range(15):
        client.execute(SMALL_QUERY)
    elapsed = time.monotonic() - started
    assert Shop.objects.get(domain=creds["shop"]).throttled_requests == 0
    assert client.throttled == 0
    # 15 × 4 points from a 30-point bucket: the rest had to be waited for (≥ 30/50 s).
    assert elapsed >= 0.5


def test_the_client_waits_and_retries_when_throttled(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=2, bucket_size=30, restore_rate=5)
    client = shopify_client(creds)
    client.execute(SMALL_QUERY)  # the first request of a process builds the schema (~2 s)
    # Empty the bucket right before the call: at 5 points/s it cannot refill in the meantime,
    # however slow the machine is between the two lines.
    Shop.objects.filter(domain=creds["shop"]).update(
        bucket_available=0, bucket_updated_at=timezone.now()
    )
    data = client.execute(SMALL_QUERY)
    assert len(data["locations"]["nodes"]) == 2
    assert client.throttled == 1
    assert Shop.objects.get(domain=creds["shop"]).throttled_requests == 1
