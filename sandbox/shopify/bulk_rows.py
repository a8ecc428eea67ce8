"""Set-based bulk reads: a catalogue query's JSONL lines from three SQL reads per window.

A bulk query over the variants (Stocklink's catalogue query reads 300,000 of them and more) spent
most of its time building model instances, prefetching their relations and dispatching each field
through `field_resolver`. For a plan (bulk_exec) rooted at `productVariants` or `inventoryItems`
whose fields the resolvers can answer from plain rows, this module instead reads each window of
variants with one query (their products joined), their inventory levels with one, their
metafields with one, as tuples; wraps them in `_Row`s that carry the models' attribute names, so
the resolvers' own functions answer every field unchanged; and builds the lines directly (a
nested connection's nodes become lines of their own with `__parentId`, as `bulk.flatten` does).

Anything else (another root, a field that needs model instances such as `Product.variants`)
returns no reader, and bulk.py runs the plan or graphql-core as before. tests/sandbox/
test_shopify_bulk_rows.py checks that both give the same lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphql import GraphQLError, GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type

from . import search
from .bulk_exec import PlanField
from .models import InventoryLevel, Location, Metafield, Shop, Variant
from .resolvers import ITEM_SEARCH, RESOLVERS, VARIANT_SEARCH, Context

# Root connections read this way: the type of their nodes, and their search fields.
ROOTS = {
    "productVariants": ("ProductVariant", VARIANT_SEARCH, ("title", "sku")),
    "inventoryItems": ("InventoryItem", ITEM_SEARCH, ("sku",)),
}
# Fields whose resolvers read more than a row and its levels and metafields (other querysets).
NEEDS_MODELS = {
    ("Product", "totalInventory"),
    ("Product", "variants"),
    ("Location", "inventoryLevels"),
    ("Location", "inventoryLevel"),
    ("InventoryChange", "item"),
    ("InventoryChange", "location"),
}

VARIANT_COLUMNS = (
    "pk",
    "sku",
    "title",
    "position",
    "inventory_policy",
    "tracked",
    "created_at",
    "updated_at",
    "product_id",
    "product__title",
    "product__handle",
    "product__status",
    "product__created_at",
    "product__updated_at",
)
PRODUCT_NAMES = ("pk", "title", "handle", "status", "created_at", "updated_at")
LEVEL_COLUMNS = (
    "pk",
    "variant_id",
    "location_id",
    "available",
    "committed",
    "incoming",
    "created_at",
    "updated_at",
)
METAFIELD_COLUMNS = ("pk", "variant_id", "namespace", "key", "type", "value", "updated_at")
LOCATION_COLUMNS = ("pk", "name", "is_active", "fulfills_online_orders", "created_at", "updated_at")


class _Unsupported(Exception):
    pass


class _Row:
    """A row as the resolvers read a model instance: its columns as attributes."""

    def __init__(self, names, values):
        self.__dict__.update(zip(names, values, strict=True))


class _Related(list):
    """A relation already read, as the resolvers read a prefetched one (`variant.levels.all()`)."""

    def all(self):
        return self


@dataclass(frozen=True)
class _Step:
    key: str
    resolve: Callable
    args: dict
    type: object  # the field's output type, wrappers included
    fields: tuple[_Step, ...] | None  # an object's selection, or a connection's nodes'
    connection: bool  # a nested connection: its nodes become lines of their own


@dataclass(frozen=True)
class Reader:
    """The compiled bulk query: which root connection, its search, and the lines' steps."""

    node_type: str
    query: object  # the search Q of the root connection
    fields: tuple[_Step, ...]


def compile_reader(plan: tuple[PlanField, ...] | None) -> Reader | None:
    """A reader for this plan, or None when it needs model rows (or is not over variants)."""
    if plan is None or len(plan) != 1 or plan[0].name not in ROOTS:
        return None
    root = plan[0]
    node_type, search_fields, default_fields = ROOTS[root.name]
    try:
        fields = _node_fields(root, node_type)
        query = search.to_q(root.args.get("query"), search_fields, default_fields)
    except _Unsupported:
        return None
    return Reader(node_type, query, fields)


def _node_fields(connection: PlanField, node_type: str) -> tuple[_Step, ...]:
    """The steps of a connection's nodes (`edges { node }` first, as `bulk.flatten` reads it)."""
    by_key = {field.name: field for field in connection.fields or ()}
    if "edges" in by_key:
        node = next((f for f in by_key["edges"].fields if f.name == "node"), None)
    else:
        node = by_key.get("nodes")
    if node is None:
        raise _Unsupported
    return _steps(node.fields, node_type)


def _steps(fields: tuple[PlanField, ...], type_name: str) -> tuple[_Step, ...]:
    steps = []
    for field in fields:
        if (type_name, field.name) in NEEDS_MODELS:
            raise _Unsupported
        resolve = RESOLVERS.get(type_name, {}).get(field.name) or _dict_get(field.name)
        named = get_named_type(field.type)
        sub, connection = None, False
        if isinstance(named, GraphQLObjectType):
            connection = named.name.endswith("Connection") and "pageInfo" in named.fields
            if connection:
                if "nodes" not in named.fields:
                    raise _Unsupported
                sub = _node_fields(field, get_named_type(named.fields["nodes"].type).name)
            else:
                sub = _steps(field.fields, named.name)
        steps.append(_Step(field.key, resolve, field.args, field.type, sub, connection))
    return tuple(steps)


def _dict_get(name: str) -> Callable:
    """What `field_resolver` answers for a field nobody registered: a key of a dict source."""

    def get(source, info, **args):
        return source.get(name) if isinstance(source, dict) else None

    return get


# --- reading -----------------------------------------------------------------------------------


def read_lines(reader: Reader, shop: Shop, window: int) -> Iterator[tuple[list[dict], int]]:
    """(lines, root objects) per window of `window` variants, in the order of their ids; a
    resolver's exception is raised as a GraphQLError (as bulk_exec and graphql-core report it)."""
    try:
        yield from _read_lines(reader, shop, window)
    except GraphQLError:
        raise
    except Exception as exc:
        raise GraphQLError(str(exc), original_error=exc) from exc


def _read_lines(reader: Reader, shop: Shop, window: int) -> Iterator[tuple[list[dict], int]]:
    info = _Info(Context(shop=shop, bulk=True))
    locations = {
        row.pk: row
        for row in (
            _Row(LOCATION_COLUMNS, values)
            for values in Location.objects.filter(shop=shop).values_list(*LOCATION_COLUMNS)
        )
    }
    variants = Variant.objects.filter(shop=shop).filter(reader.query).order_by("pk")
    after = 0
    while True:
        page = variants.filter(pk__gt=after)[:window].values_list(*VARIANT_COLUMNS)
        rows = [_variant(values) for values in page]
        if not rows:
            return
        _attach(rows, shop, after, locations)
        lines: list[dict] = []
        for row in rows:
            _emit(reader.fields, row, None, info, lines)
        yield lines, len(rows)
        if len(rows) < window:
            return
        after = rows[-1].pk


def _variant(values) -> _Row:
    row = _Row(VARIANT_COLUMNS[:8], values[:8])
    row.product = _Row(PRODUCT_NAMES, values[8:])
    row.levels, row.metafields = _Related(), _Related()
    return row


def _attach(rows: list[_Row], shop: Shop, after: int, locations: dict) -> None:
    """Read the window's levels and metafields (one query each) onto its variants."""
    by_pk = {row.pk: row for row in rows}
    window = {"variant__shop": shop, "variant_id__gt": after, "variant_id__lte": rows[-1].pk}
    levels = InventoryLevel.objects.filter(**window).order_by("pk").values_list(*LEVEL_COLUMNS)
    for values in levels:
        variant = by_pk.get(values[1])
        if variant is not None:  # outside the search
            level = _Row(LEVEL_COLUMNS, values)
            level.location, level.variant = locations[level.location_id], variant
            level.on_hand = InventoryLevel.on_hand.fget(level)  # the model's own sum
            variant.levels.append(level)
    metafields = Metafield.objects.filter(**window).order_by("pk").values_list(*METAFIELD_COLUMNS)
    grouped = defaultdict(list)
    for values in metafields:
        grouped[values[1]].append(_Row(METAFIELD_COLUMNS, values))
    for pk, found in grouped.items():
        if pk in by_pk:
            by_pk[pk].metafields.extend(found)


class _Path:
    prev = None  # not the root: the root connection is this module's to read


class _Info:
    """What the resolvers read of graphql-core's ResolveInfo, the same for every field here."""

    path = _Path()

    def __init__(self, context: Context):
        self.context = context


def _emit(steps, source, parent_id, info, lines: list[dict]) -> None:
    """Append the line of one connection node, then those of its nested connections' nodes."""
    children: list[tuple[tuple[_Step, ...], list]] = []
    line = _object(source, steps, info, children)
    if parent_id is not None:
        line["__parentId"] = parent_id
    lines.append(line)
    for node_steps, nodes in children:
        for node in nodes:
            if node is not None:
                _emit(node_steps, node, line.get("id"), info, lines)


def _object(source, steps, info, children) -> dict:
    out = {}
    for step in steps:
        value = step.resolve(source, info, **step.args)
        if step.connection and value is not None:
            children.append((step.fields, value["nodes"]))  # `connections.connection`'s value
            continue
        out[step.key] = _complete(value, step.type, step, info, children)
    return out


def _complete(value, type_, step, info, children):
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if value is None:
        return None
    if isinstance(type_, GraphQLList):
        return [_complete(item, type_.of_type, step, info, children) for item in value]
    if isinstance(type_, GraphQLObjectType):
        return _object(value, step.fields, info, children)
    return type_.serialize(value)
