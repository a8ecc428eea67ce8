"""Bulk query operations: CREATED → RUNNING → COMPLETED and Shopify's JSONL with __parentId."""

import json

import pytest
import requests

from sandbox.shopify import bulk
from sandbox.shopify.models import BulkOperation
from sync.clients.errors import MarketplaceError
from sync.clients.shopify_queries import BULK_RUN_MUTATION, render_variants_bulk_query
from sync.clients.shopify_transport import jsonl_rows

from .shopify_fixtures import *  # noqa: F403  (pytest fixtures)


def test_bulk_query_writes_one_line_per_node_with_children_pointing_to_their_parent(
    shopify_shop, shopify_client, monkeypatch
):
    monkeypatch.setattr(bulk, "ROWS_CHUNK", 7)  # several windows over the root connection
    creds, totals = shopify_shop(variants=20, locations=2)
    client = shopify_client(creds)
    rows = list(
        client.run_bulk_query(render_variants_bulk_query(namespace="stocklink", key="amazon_qty"))
    )
    variants = [row for row in rows if "__parentId" not in row]
    levels = [row for row in rows if "__parentId" in row]
    assert [v["sku"] for v in variants] == [sku for sku, _ in totals]
    assert len(levels) == 40
    assert {row["__parentId"] for row in levels} == {v["id"] for v in variants}
    assert "inventoryLevels" not in variants[0]["inventoryItem"]
    assert levels[0]["quantities"][0]["name"] == "available"

    status = client.execute("{ currentBulkOperation { status objectCount rootObjectCount url } }")[
        "currentBulkOperation"
    ]
    assert status["status"] == "COMPLETED"
    assert (status["objectCount"], status["rootObjectCount"]) == ("60", "20")
    assert requests.get(status["url"], timeout=10).text.count("\n") == 60


def test_bulk_and_paged_reads_of_the_catalogue_agree(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=15, locations=3)
    client = shopify_client(creds)
    by_bulk = sorted(client.iter_variants(bulk=True), key=lambda v: v.id)
    by_pages = sorted(client.iter_variants(), key=lambda v: v.id)
    assert len(by_pages) == 15
    assert by_bulk == by_pages


def test_a_bulk_read_started_ahead_is_read_later_as_one_started_at_once(
    shopify_shop, shopify_client
):
    creds, _ = shopify_shop(variants=9, locations=2)
    client = shopify_client(creds)
    operation = client.start_variants_bulk(metafield=("stocklink", "amazon_qty"))
    assert BulkOperation.objects.count() == 1
    ahead = list(client.iter_variants(bulk_operation=operation))
    assert BulkOperation.objects.count() == 1  # read, not started again
    assert ahead == list(client.iter_variants(bulk=True))
    assert len(ahead) == 9


def test_jsonl_rows_reads_lines_split_across_chunks():
    body = '{"a":1}\n{"b":"é\\n"}\r\n\n{"c":[1,2]}'.encode()
    chunks = [body[i : i + 3] for i in range(0, len(body), 3)]  # splits the é's two bytes too
    assert list(jsonl_rows(chunks)) == [{"a": 1}, {"b": "é\n"}, {"c": [1, 2]}]
    assert list(jsonl_rows([b"", b"\n"])) == []
    with pytest.raises(json.JSONDecodeError):
        list(jsonl_rows([b'{"a":1} x\n']))


def test_the_operation_is_answered_as_created_then_completes(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=3, locations=1)
    client = shopify_client(creds)
    data = client.execute(
        BULK_RUN_MUTATION, {"query": "{ locations { edges { node { id name } } } }"}
    )
    assert data["bulkOperationRunQuery"]["bulkOperation"]["status"] == "CREATED"
    operation = BulkOperation.objects.get()
    # Celery runs eagerly in the tests: the task has moved it on by now.
    assert operation.status == BulkOperation.Status.COMPLETED
    assert operation.object_count == 1


def test_a_bulk_query_without_a_connection_is_refused(shopify_shop, shopify_client):
    creds, _ = shopify_shop(variants=1, locations=1)
    try:
        list(shopify_client(creds).run_bulk_query("{ shop { name } }"))
    except MarketplaceError as exc:
        assert exc.code == "INVALID"
        assert "connection" in str(exc)
    else:
        raise AssertionError("a bulk query without a connection was accepted")


def test_the_lean_executor_answers_the_catalogue_query_as_graphql_core_does(shopify_shop):
    from graphql import execute, parse

    from sandbox.shopify.bulk_exec import compile_plan, execute_plan
    from sandbox.shopify.models import Shop
    from sandbox.shopify.resolvers import Context, field_resolver, type_resolver
    from sandbox.shopify.schema import admin_schema

    creds, _ = shopify_shop(variants=12, locations=2)
    shop = Shop.objects.get(domain=creds["shop"])
    schema = admin_schema()
    document = parse(render_variants_bulk_query(namespace="stocklink", key="amazon_qty"))
    plan = compile_plan(schema, document)
    assert plan is not None

    def context():
        return Context(shop=shop, bulk=True, bulk_window=(0, 500))

    expected = execute(
        schema,
        document,
        context_value=context(),
        field_resolver=field_resolver,
        type_resolver=type_resolver,
    )
    assert not expected.errors
    assert execute_plan(plan, schema, context()) == expected.data
    # Fragments (and interfaces, directives) are left to graphql-core.
    fragment = parse("{ locations { edges { node { ...L } } } } fragment L on Location { id }")
    assert compile_plan(schema, fragment) is None
