"""Bulk query operations: run a query over every object and write Shopify's JSONL file.

Each node of the root connection becomes one line; nodes of nested connections become lines of
their own carrying `__parentId` (the id of the enclosing node) and are removed from their
parent, as in Shopify's output. The root connection is read in windows of `CHUNK` rows so that
a 100,000-variant catalogue never sits in memory at once; a query over the variants that
bulk_rows.py can answer from plain rows is read in windows of `ROWS_CHUNK` that way instead.
"""

import json
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    execute,
    get_named_type,
    get_operation_ast,
    parse,
    validate,
)

from .bulk_exec import compile_plan, execute_plan
from .bulk_rows import compile_reader, read_lines
from .models import BulkOperation
from .resolvers import Context, field_resolver, type_resolver
from .schema import admin_schema

CHUNK = 500
ROWS_CHUNK = 5000
_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps builds one per call otherwise
MAX_CONNECTIONS = 5
MAX_CONNECTION_DEPTH = 3  # the root connection and two levels nested in it


def result_dir() -> Path:
    """Where result files live; shared by the web process and the worker."""
    default = Path(settings.BASE_DIR) / "var" / "sandbox" / "shopify-bulk"
    return Path(getattr(settings, "SANDBOX_SHOPIFY_BULK_DIR", default))


def result_path(operation: BulkOperation) -> Path:
    return result_dir() / f"{operation.pk}-{operation.file_token}.jsonl"


def _is_connection(type_) -> bool:
    named = get_named_type(type_)
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _connection_depths(selection_set, parent, depth, found: list[int]):
    for selection in selection_set.selections if selection_set else ():
        if not isinstance(selection, FieldNode):
            # Fragments are allowed in bulk queries but rare; their fields are not counted.
            continue
        fields = getattr(parent, "fields", None) or {}
        field = fields.get(selection.name.value)
        if field is None:
            continue
        here = depth + 1 if _is_connection(field.type) else depth
        if here > depth:
            found.append(here)
        _connection_depths(selection.selection_set, get_named_type(field.type), here, found)


def check_bulk_query(query: str) -> str | None:
    """Why Shopify would refuse this bulk query, or None when it is acceptable."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return f"Invalid bulk query: {exc.message}"
    problems = validate(admin_schema(), document)
    if problems:
        return f"Invalid bulk query: {problems[0].message}"
    operation = get_operation_ast(document)
    if operation is None or operation.operation != OperationType.QUERY:
        return "Bulk queries must contain exactly one query operation."
    depths: list[int] = []
    _connection_depths(operation.selection_set, admin_schema().query_type, 0, depths)
    if not depths:
        return "Bulk queries must contain at least one connection."
    if len(depths) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    if max(depths) > MAX_CONNECTION_DEPTH:
        return "Bulk queries cannot contain connections with a nesting depth greater than 2."
    return None


def _connection_nodes(value: dict) -> list:
    if isinstance(value.get("edges"), list):
        return [edge.get("node") for edge in value["edges"] if isinstance(edge, dict)]
    if isinstance(value.get("nodes"), list):
        return value["nodes"]
    return []


def _looks_like_connection(value) -> bool:
    return isinstance(value, dict) and (
        isinstance(value.get("edges"), list) or isinstance(value.get("nodes"), list)
    )


def flatten(node: dict, parent_id: str | None, out: list[dict]) -> None:
    """Append the JSONL lines of one connection node and of its nested connections."""
    children: list[dict] = []

    def strip(value):
        if isinstance(value, dict):
            kept = {}
            for key, inner in value.items():
                if _looks_like_connection(inner):
                    children.extend(n for n in _connection_nodes(inner) if n is not None)
                else:
                    kept[key] = strip(inner)
            return kept
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    line = strip(node)
    if parent_id is not None:
        line["__parentId"] = parent_id
    out.append(line)
    for child in children:
        flatten(child, node.get("id"), out)


def _execute(schema, document, plan, ctx) -> dict | None:
    if plan is not None:
        return execute_plan(plan, schema, ctx)
    result = execute(
        schema,
        document,
        context_value=ctx,
        field_resolver=field_resolver,
        type_resolver=type_resolver,
    )
    if result.errors:
        raise result.errors[0]
    return result.data


def _windows(schema, document, plan, shop) -> Iterator[tuple[list[dict], int]]:
    """(lines, root objects) per window of the root connection, until it is read."""
    reader = compile_reader(plan)
    if reader is not None:
        yield from read_lines(reader, shop, ROWS_CHUNK)
        return
    after_pk = 0
    while True:
        ctx = Context(shop=shop, bulk=True, bulk_window=(after_pk, CHUNK))
        data = _execute(schema, document, plan, ctx)
        lines: list[dict] = []
        roots = 0
        for value in (data or {}).values():
            if _looks_like_connection(value):
                for node in _connection_nodes(value):
                    if node is not None:
                        roots += 1
                        flatten(node, None, lines)
        yield lines, roots
        # Only a root connection pages; a query rooted elsewhere runs once.
        if len(ctx.bulk_root_rows) < CHUNK:
            return
        after_pk = ctx.bulk_root_rows[-1].pk


def run(operation: BulkOperation) -> None:
    """Execute the operation's query over every object and write its result file."""
    operation.status = BulkOperation.Status.RUNNING
    operation.save(update_fields=["status"])
    schema = admin_schema()
    document = parse(operation.query)
    plan = compile_plan(schema, document)  # None: graphql-core runs it (bulk_exec)
    path = result_path(operation)
    path.parent.mkdir(parents=True, exist_ok=True)
    objects = roots = 0
    try:
        with path.open("w", encoding="utf-8") as out:
            for lines, window_roots in _windows(schema, document, plan, operation.shop):
                out.write("".join(_ENCODER.encode(line) + "\n" for line in lines))
                objects += len(lines)
                roots += window_roots
    except GraphQLError:
        operation.status = BulkOperation.Status.FAILED
        operation.error_code = "INTERNAL_SERVER_ERROR"
        operation.completed_at = timezone.now()
        operation.save(update_fields=["status", "error_code", "completed_at"])
        raise
    operation.refresh_from_db(fields=["status"])
    if operation.status == BulkOperation.Status.CANCELED:
        path.unlink(missing_ok=True)
        return
    operation.status = BulkOperation.Status.COMPLETED
    operation.object_count = objects
    operation.root_object_count = roots
    operation.file_size = path.stat().st_size
    operation.completed_at = timezone.now()
    operation.save(
        update_fields=["status", "object_count", "root_object_count", "file_size", "completed_at"]
    )
