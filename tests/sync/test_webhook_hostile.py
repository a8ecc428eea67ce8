"""Hostile webhooks: every signed or unsigned delivery answers 2xx or 4xx, never 5xx, on SQLite
and PostgreSQL; headers are stored whole or refused; refusals do not write to the database."""

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.models import WebhookEvent, WebhookRejection
from tests.factories import ShopifyStoreFactory

pytestmark = pytest.mark.django_db

URL = "/webhooks/shopify/"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client, store, body: bytes, *, signature=None, **headers):
    """POST `body` as Shopify would; `headers` by name with underscores (topic=, event_id=)."""
    meta = {
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": store.shop_domain,
        "HTTP_X_SHOPIFY_TOPIC": "inventory_levels/update",
        "HTTP_X_SHOPIFY_EVENT_ID": "evt-1",
        "HTTP_X_SHOPIFY_TRIGGERED_AT": "2026-12-01T05:00:00Z",
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(store.webhook_secret, body)
        if signature is None
        else signature,
    }
    for name, value in headers.items():
        meta[f"HTTP_X_SHOPIFY_{name.upper()}"] = value
    return client.post(URL, data=body, content_type="application/json", **meta)


OBJECT = b'{"inventory_item_id": 1, "location_id": 2, "available": 3}'

# (name, body, extra headers, signed, expected status)
HOSTILE = [
    ("topic of 61 characters, stored whole", OBJECT, {"topic": "t" * 61}, True, 200),
    ("topic of 256 characters", OBJECT, {"topic": "t" * 256}, True, 400),
    ("event id of 101 characters", OBJECT, {"event_id": "e" * 101}, True, 200),
    ("event id of 255 characters", OBJECT, {"event_id": "e" * 255}, True, 200),
    ("event id of 256 characters", OBJECT, {"event_id": "e" * 256}, True, 400),
    ("event id of 10,000 characters", OBJECT, {"event_id": "e" * 10_000}, True, 400),
    ("NUL in the event id", OBJECT, {"event_id": "a\x00b"}, True, 400),
    ("NUL in the topic", OBJECT, {"topic": "inventory_levels/update\x00"}, True, 400),
    ("control character in the webhook id", OBJECT, {"webhook_id": "w\x1bx"}, True, 400),
    ("webhook id of 256 characters", OBJECT, {"webhook_id": "w" * 256}, True, 400),
    ("NUL escaped in a value", b'{"title": "a\\u0000b", "id": 1}', {}, True, 200),
    ("NUL escaped in a key", b'{"a\\u0000": 1}', {}, True, 200),
    ("lone surrogate escaped", b'{"title": "\\ud800"}', {}, True, 200),
    ("raw NUL byte in a string", b'{"title": "a\x00b"}', {}, True, 400),
    ("NaN", b'{"available": NaN}', {}, True, 400),
    ("Infinity", b'{"available": -Infinity}', {}, True, 400),
    ("a float too large", b'{"available": 1e999}', {}, True, 400),
    ("an integer of 5,000 digits", b'{"available": ' + b"9" * 5000 + b"}", {}, True, 400),
    ("nested 100 deep", b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", {}, True, 400),
    ("nested 100,000 deep", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, True, 400),
    ("a JSON list", b"[1, 2]", {}, True, 400),
    ("an empty body", b"", {}, True, 400),
    ("invalid UTF-8", b'{"title": "\xff\xfe"}', {}, True, 400),
    ("UTF-16", '{"id": 1}'.encode("utf-16"), {}, True, 200),
    ("triggered at year 1, +14:00", OBJECT, {"triggered_at": "0001-01-01T00:00+14:00"}, True, 200),
    ("triggered at 9999, -14:00", OBJECT, {"triggered_at": "9999-12-31T23:59-14:00"}, True, 200),
    ("triggered at +99:00", OBJECT, {"triggered_at": "2026-01-01T00:00+99:00"}, True, 200),
    ("triggered at month 13", OBJECT, {"triggered_at": "2026-13-01T00:00:00Z"}, True, 200),
    ("NUL in the triggered at", OBJECT, {"triggered_at": "2026\x00"}, True, 200),
    ("forged signature", OBJECT, {}, False, 401),
    ("non-ASCII signature", OBJECT, {"hmac_sha256": "ünï=="}, None, 401),
    ("NUL in the signature", OBJECT, {"hmac_sha256": "a\x00=="}, None, 401),
    ("NUL in the shop domain", OBJECT, {"shop_domain": "x\x00.myshopify.com"}, None, 401),
    ("shop domain of 10,000 characters", OBJECT, {"shop_domain": "s" * 10_000}, None, 401),
    ("empty shop domain", OBJECT, {"shop_domain": ""}, None, 401),
]


@pytest.mark.parametrize(
    ("body", "headers", "signed", "status"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_delivery_answers_4xx_or_2xx_never_5xx(client, body, headers, signed, status):
    store = ShopifyStoreFactory()
    signature = "forged==" if signed is False else None  # None: signed with the secret

    response = post(client, store, body, signature=signature, **headers)

    assert response.status_code == status, response.content
    if status == 400:
        assert response.content  # a clear message, not an empty answer
        assert not WebhookEvent.objects.exists()


def test_a_header_too_long_to_store_whole_is_refused_with_a_clear_message(client):
    store = ShopifyStoreFactory()

    response = post(client, store, OBJECT, topic="t" * 256)

    assert response.status_code == 400
    assert b"X-Shopify-Topic must be printable text of at most 255 characters" in (response.content)
    assert WebhookRejection.objects.get().reason == WebhookRejection.Reason.BAD_HEADER


def test_a_long_topic_is_stored_whole_and_ignored(client):
    store = ShopifyStoreFactory()

    response = post(client, store, OBJECT, topic="x" * 200)

    assert response.status_code == 200 and b"Ignored topic" in response.content
    assert WebhookEvent.objects.get().topic == "x" * 200


def test_distinct_long_event_ids_are_both_stored_whole(client):
    store = ShopifyStoreFactory()
    first, second = "p" * 150 + "-1", "p" * 150 + "-2"  # the same first 100 characters

    answers = [post(client, store, OBJECT, event_id=event_id) for event_id in (first, second)]

    assert [a.status_code for a in answers] == [200, 200]
    assert not any(b"Duplicate" in a.content for a in answers)
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {first, second}
    assert b"Duplicate" in post(client, store, OBJECT, event_id=second).content


def test_a_nul_in_the_payload_is_stored_as_a_replacement_character_and_queued(client):
    store = ShopifyStoreFactory()
    body = b'{"inventory_item_id": 7, "title": "a\\u0000b", "k\\u0000": "\\ud83d"}'

    response = post(client, store, body)

    assert response.status_code == 200 and b"Queued" in response.content
    payload = WebhookEvent.objects.get().payload
    assert payload == {"inventory_item_id": 7, "title": "a\ufffdb", "k\ufffd": "\ufffd"}


def test_a_stores_first_delivery_costs_two_queries_and_the_next_ones_one(
    client, django_assert_num_queries
):
    store = ShopifyStoreFactory()
    with django_assert_num_queries(2):  # the store, then INSERT … ON CONFLICT DO NOTHING
        assert post(client, store, OBJECT, event_id="first").status_code == 200
    with django_assert_num_queries(1):  # INSERT … SELECT the store as it verified … ON CONFLICT
        assert b"Queued" in post(client, store, OBJECT, event_id="next").content
    with django_assert_num_queries(3):  # a duplicate is decided afresh
        assert b"Duplicate" in post(client, store, OBJECT, event_id="next").content


# Headers as Shopify could never send them, bodies as any JSON object: signed, so they pass
# the HMAC and reach the database. Derandomised, so a run is the same every time.
any_text = st.text(st.characters(exclude_categories=()), max_size=300)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=75,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.dictionaries(any_text, json_values, max_size=5),
    topic=any_text,
    event_id=any_text,
    webhook_id=any_text,
    triggered_at=any_text,
)
def test_fuzzed_signed_deliveries_answer_200_or_400(
    client, payload, topic, event_id, webhook_id, triggered_at
):
    store = ShopifyStoreFactory()
    body = json.dumps(payload).encode()

    # WSGI hands headers over as latin-1 text; the test client passes them on as they are.
    response = post(
        client,
        store,
        body,
        topic=topic,
        event_id=event_id,
        webhook_id=webhook_id,
        triggered_at=triggered_at,
    )

    assert response.status_code in (200, 400), response.content


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.binary(max_size=200), signature=st.text(max_size=60), signed=st.booleans())
def test_fuzzed_bodies_and_signatures_answer_4xx_or_200(client, body, signature, signed):
    store = ShopifyStoreFactory()

    response = post(client, store, body, signature=None if signed else signature or "x")

    assert response.status_code in (200, 400, 401), response.content
