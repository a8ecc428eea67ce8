"""Field resolvers: how the sandbox's rows answer Shopify's object types.

graphql-core executes the official schema; `field_resolver` dispatches on (parent type, field)
to the functions registered here. A field nobody registered resolves to a key of a dict source,
else to null: a field Stocklink does not use answers null instead of crashing the request.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Prefetch
from graphql import GraphQLError

from . import gids, search
from .connections import connection, page, page_list
from .models import (
    AdjustmentGroup,
    BulkOperation,
    InventoryLevel,
    Location,
    Metafield,
    Product,
    Shop,
    Variant,
    WebhookSubscription,
)

QUANTITY_NAMES = (
    "available",
    "on_hand",
    "committed",
    "incoming",
    "reserved",
    "damaged",
    "quality_control",
    "safety_stock",
    "unavailable",
)


@dataclass
class Context:
    """Per-request state the resolvers share."""

    shop: Shop
    request: object | None = None
    bulk: bool = False
    # Bulk runner: the root connection returns rows with pk > after_pk, at most size of them.
    bulk_window: tuple[int, int] | None = None
    bulk_root_rows: list = field(default_factory=list)


@dataclass(frozen=True)
class Obj:
    """A row with its GraphQL type, for fields typed as an interface (`node`, `nodes`)."""

    typename: str
    row: object


RESOLVERS: dict[str, dict] = defaultdict(dict)


def resolves(type_name: str, field_name: str):
    def register(fn):
        RESOLVERS[type_name][field_name] = fn
        return fn

    return register


def field_resolver(source, info, **args):
    fn = RESOLVERS.get(info.parent_type.name, {}).get(info.field_name)
    if isinstance(source, Obj):
        source = source.row
    if fn is not None:
        return fn(source, info, **args)
    if isinstance(source, dict):
        return source.get(info.field_name)
    return None


def type_resolver(value, info, abstract_type):
    if isinstance(value, Obj):
        return value.typename
    return None


def iso(value: datetime | None) -> str | None:
    """Shopify's DateTime format: UTC, whole seconds, `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ctx(info) -> Context:
    return info.context


def _is_bulk_root(info) -> bool:
    return info.context.bulk and info.path.prev is None


def _root_page(info, queryset, args):
    """Page a root connection; in a bulk run, the runner's window instead."""
    ctx = _ctx(info)
    if _is_bulk_root(info):
        rows, page_info = page(queryset, args, bulk=True, bulk_window=ctx.bulk_window)
        ctx.bulk_root_rows = rows
        return rows, page_info
    return page(queryset, args, bulk=ctx.bulk)


def variants_qs(shop):
    """Variants with what their resolvers read, fetched in a few queries per page."""
    return (
        Variant.objects.filter(shop=shop)
        .select_related("product")
        .prefetch_related(
            Prefetch("levels", queryset=InventoryLevel.objects.select_related("location")),
            "metafields",
        )
    )


def node_for(shop, gid: str):
    """The object behind a gid in this shop, wrapped with its type; None when unknown."""
    parsed = gids.parse(gid)
    if parsed is None:
        return None
    type_name, pk = parsed
    lookups = {
        "Shop": lambda: shop if shop.pk == pk else None,
        "Location": lambda: Location.objects.filter(shop=shop, pk=pk).first(),
        "Product": lambda: Product.objects.filter(shop=shop, pk=pk).first(),
        "ProductVariant": lambda: variants_qs(shop).filter(pk=pk).first(),
        "InventoryItem": lambda: variants_qs(shop).filter(pk=pk).first(),
        "InventoryLevel": lambda: (
            InventoryLevel.objects.select_related("location", "variant")
            .filter(pk=pk, variant__shop=shop)
            .first()
        ),
        "Metafield": lambda: Metafield.objects.filter(pk=pk, variant__shop=shop).first(),
        "InventoryAdjustmentGroup": lambda: AdjustmentGroup.objects.filter(
            shop=shop, pk=pk, user_errors=[]
        ).first(),
        "WebhookSubscription": lambda: WebhookSubscription.objects.filter(shop=shop, pk=pk).first(),
        "BulkOperation": lambda: BulkOperation.objects.filter(shop=shop, pk=pk).first(),
    }
    row = lookups[type_name]()
    return None if row is None else Obj(type_name, row)


def _node_of_type(shop, gid: str, type_name: str):
    node = node_for(shop, gid)
    return node.row if node is not None and node.typename == type_name else None


# Search fields per connection (Shopify's documented filter names that Stocklink uses).
VARIANT_SEARCH = {
    "id": search.legacy_id_field("pk", gids.OFFSETS["ProductVariant"]),
    "sku": search.text_field("sku"),
    "title": search.text_field("title"),
    "updated_at": search.datetime_field("updated_at"),
    "created_at": search.datetime_field("created_at"),
    "product_id": search.legacy_id_field("product_id", gids.OFFSETS["Product"]),
    "inventory_item_id": search.legacy_id_field("pk", gids.OFFSETS["InventoryItem"]),
}
ITEM_SEARCH = {
    "id": search.legacy_id_field("pk", gids.OFFSETS["InventoryItem"]),
    "sku": search.text_field("sku"),
    "updated_at": search.datetime_field("updated_at"),
    "created_at": search.datetime_field("created_at"),
}
PRODUCT_SEARCH = {
    "id": search.legacy_id_field("pk", gids.OFFSETS["Product"]),
    "title": search.text_field("title"),
    "handle": search.text_field("handle"),
    "sku": search.text_field("variants__sku"),
    "status": search.text_field("status"),
    "updated_at": search.datetime_field("updated_at"),
    "created_at": search.datetime_field("created_at"),
}
LOCATION_SEARCH = {
    "id": search.legacy_id_field("pk", gids.OFFSETS["Location"]),
    "name": search.text_field("name"),
    "active": search.bool_field("is_active"),
}


# --- QueryRoot -------------------------------------------------------------------------------


@resolves("QueryRoot", "shop")
def _shop(_, info):
    return _ctx(info).shop


@resolves("QueryRoot", "locations")
def _locations(_, info, **args):
    qs = Location.objects.filter(shop=_ctx(info).shop)
    if not args.get("includeInactive"):
        qs = qs.filter(is_active=True)
    qs = qs.filter(search.to_q(args.get("query"), LOCATION_SEARCH, ("name",)))
    return connection(*_root_page(info, qs, args), lambda row: row)


@resolves("QueryRoot", "location")
def _location(_, info, id=None):
    shop = _ctx(info).shop
    if id is None:  # Shopify answers the shop's primary location.
        return Location.objects.filter(shop=shop, is_active=True).order_by("pk").first()
    return _node_of_type(shop, id, "Location")


@resolves("QueryRoot", "products")
def _products(_, info, **args):
    shop = _ctx(info).shop
    qs = Product.objects.filter(shop=shop).filter(
        search.to_q(args.get("query"), PRODUCT_SEARCH, ("title",))
    )
    if args.get("query"):
        qs = qs.distinct()
    qs = qs.prefetch_related(Prefetch("variants", queryset=variants_qs(shop)))
    return connection(*_root_page(info, qs, args), lambda row: row)


@resolves("QueryRoot", "product")
def _product(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "Product")


@resolves("QueryRoot", "productVariants")
def _product_variants(_, info, **args):
    qs = variants_qs(_ctx(info).shop).filter(
        search.to_q(args.get("query"), VARIANT_SEARCH, ("title", "sku"))
    )
    return connection(*_root_page(info, qs, args), lambda row: row)


@resolves("QueryRoot", "productVariant")
def _product_variant(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "ProductVariant")


@resolves("QueryRoot", "inventoryItems")
def _inventory_items(_, info, **args):
    qs = variants_qs(_ctx(info).shop).filter(search.to_q(args.get("query"), ITEM_SEARCH, ("sku",)))
    return connection(*_root_page(info, qs, args), lambda row: row)


@resolves("QueryRoot", "inventoryItem")
def _inventory_item(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "InventoryItem")


@resolves("QueryRoot", "inventoryLevel")
def _inventory_level(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "InventoryLevel")


@resolves("QueryRoot", "node")
def _node(_, info, id):
    return node_for(_ctx(info).shop, id)


@resolves("QueryRoot", "nodes")
def _nodes(_, info, ids):
    if len(ids) > 250:
        raise GraphQLError("The number of ids exceeds the maximum of 250.")
    shop = _ctx(info).shop
    return [node_for(shop, value) for value in ids]


@resolves("QueryRoot", "currentBulkOperation")
def _current_bulk_operation(_, info, type="QUERY"):
    return (
        BulkOperation.objects.filter(shop=_ctx(info).shop, type=type or "QUERY")
        .order_by("-pk")
        .first()
    )


@resolves("QueryRoot", "bulkOperation")
def _bulk_operation(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "BulkOperation")


@resolves("QueryRoot", "webhookSubscriptions")
def _webhook_subscriptions(_, info, **args):
    qs = WebhookSubscription.objects.filter(shop=_ctx(info).shop)
    if args.get("topics"):
        qs = qs.filter(topic__in=args["topics"])
    if args.get("uri") or args.get("callbackUrl"):
        qs = qs.filter(uri=args.get("uri") or args.get("callbackUrl"))
    if args.get("format"):
        qs = qs.filter(format=args["format"])
    return connection(*_root_page(info, qs, args), lambda row: row)


@resolves("QueryRoot", "webhookSubscription")
def _webhook_subscription(_, info, id):
    return _node_of_type(_ctx(info).shop, id, "WebhookSubscription")


# --- Shop ------------------------------------------------------------------------------------

SHOP_FIELDS = {
    "id": lambda shop: gids.gid("Shop", shop.pk),
    "name": lambda shop: shop.name,
    "myshopifyDomain": lambda shop: shop.domain,
    "url": lambda shop: f"https://{shop.domain}",
    "email": lambda shop: f"owner@{shop.domain}",
    "contactEmail": lambda shop: f"owner@{shop.domain}",
    "currencyCode": lambda shop: "USD",
    "ianaTimezone": lambda shop: "UTC",
    "timezoneAbbreviation": lambda shop: "UTC",
    "createdAt": lambda shop: iso(shop.created_at),
    "updatedAt": lambda shop: iso(shop.created_at),
}
for _name, _get in SHOP_FIELDS.items():
    RESOLVERS["Shop"][_name] = lambda shop, info, _get=_get, **kw: _get(shop)


# --- Location --------------------------------------------------------------------------------

LOCATION_FIELDS = {
    "id": lambda loc: gids.gid("Location", loc.pk),
    "legacyResourceId": lambda loc: str(gids.legacy_id("Location", loc.pk)),
    "name": lambda loc: loc.name,
    "isActive": lambda loc: loc.is_active,
    "activatable": lambda loc: not loc.is_active,
    "deactivatable": lambda loc: loc.is_active,
    "deletable": lambda loc: not loc.is_active,
    "deactivatedAt": lambda loc: None if loc.is_active else iso(loc.updated_at),
    "fulfillsOnlineOrders": lambda loc: loc.fulfills_online_orders,
    "hasActiveInventory": lambda loc: loc.is_active,
    "hasUnfulfilledOrders": lambda loc: False,
    "isFulfillmentService": lambda loc: False,
    "shipsInventory": lambda loc: True,
    "addressVerified": lambda loc: False,
    "createdAt": lambda loc: iso(loc.created_at),
    "updatedAt": lambda loc: iso(loc.updated_at),
    "address": lambda loc: {"countryCode": "US", "country": "United States", "formatted": []},
    "suggestedAddresses": lambda loc: [],
}
for _name, _get in LOCATION_FIELDS.items():
    RESOLVERS["Location"][_name] = lambda loc, info, _get=_get, **kw: _get(loc)


@resolves("Location", "inventoryLevels")
def _location_levels(loc, info, **args):
    qs = InventoryLevel.objects.filter(location=loc).select_related("location", "variant")
    return connection(*page(qs, args, bulk=_ctx(info).bulk), lambda row: row)


@resolves("Location", "inventoryLevel")
def _location_level(loc, info, inventoryItemId, includeInactive=False):
    pk = gids.pk_of(inventoryItemId, "InventoryItem")
    return (
        InventoryLevel.objects.select_related("location", "variant")
        .filter(location=loc, variant_id=pk)
        .first()
    )


# --- Product ---------------------------------------------------------------------------------

PRODUCT_FIELDS = {
    "id": lambda p: gids.gid("Product", p.pk),
    "legacyResourceId": lambda p: str(gids.legacy_id("Product", p.pk)),
    "title": lambda p: p.title,
    "handle": lambda p: p.handle,
    "status": lambda p: p.status,
    "tags": lambda p: [],
    "createdAt": lambda p: iso(p.created_at),
    "updatedAt": lambda p: iso(p.updated_at),
    "totalInventory": lambda p: sum(
        level.available for v in p.variants.all() for level in v.levels.all()
    ),
}
for _name, _get in PRODUCT_FIELDS.items():
    RESOLVERS["Product"][_name] = lambda p, info, _get=_get, **kw: _get(p)


@resolves("Product", "variants")
def _product_variants_of(product, info, **args):
    rows = list(product.variants.all())
    return connection(*page_list(rows, args, bulk=_ctx(info).bulk), lambda row: row)


# --- ProductVariant and InventoryItem (one row) ----------------------------------------------


def _active_levels(variant, include_inactive=False):
    levels = sorted(variant.levels.all(), key=lambda level: level.pk)
    return levels if include_inactive else [lv for lv in levels if lv.location.is_active]


VARIANT_FIELDS = {
    "id": lambda v: gids.gid("ProductVariant", v.pk),
    "legacyResourceId": lambda v: str(gids.legacy_id("ProductVariant", v.pk)),
    "title": lambda v: v.title,
    "displayName": lambda v: f"{v.product.title} - {v.title}",
    "sku": lambda v: v.sku or None,
    "position": lambda v: v.position,
    "inventoryPolicy": lambda v: v.inventory_policy,
    "inventoryQuantity": lambda v: sum(level.available for level in _active_levels(v)),
    "sellableOnlineQuantity": lambda v: max(0, sum(level.available for level in _active_levels(v))),
    "availableForSale": lambda v: (
        v.inventory_policy == "CONTINUE"
        or not v.tracked
        or sum(level.available for level in _active_levels(v)) > 0
    ),
    "price": lambda v: "10.00",
    "taxable": lambda v: True,
    "barcode": lambda v: None,
    "selectedOptions": lambda v: [{"name": "Title", "value": v.title}],
    "createdAt": lambda v: iso(v.created_at),
    "updatedAt": lambda v: iso(v.updated_at),
    "product": lambda v: v.product,
    "inventoryItem": lambda v: v,
}
for _name, _get in VARIANT_FIELDS.items():
    RESOLVERS["ProductVariant"][_name] = lambda v, info, _get=_get, **kw: _get(v)


def _metafield(owner, namespace, key):
    namespace = namespace or "$app"
    for metafield in owner.metafields.all():
        if metafield.namespace == namespace and metafield.key == key:
            return metafield
    return None


@resolves("ProductVariant", "metafield")
def _variant_metafield(variant, info, key, namespace=None):
    return _metafield(variant, namespace, key)


@resolves("ProductVariant", "metafields")
def _variant_metafields(variant, info, **args):
    rows = [
        mf
        for mf in variant.metafields.all()
        if (not args.get("namespace") or mf.namespace == args["namespace"])
        and (not args.get("keys") or f"{mf.namespace}.{mf.key}" in args["keys"])
    ]
    return connection(*page_list(rows, args, bulk=_ctx(info).bulk), lambda row: row)


ITEM_FIELDS = {
    "id": lambda v: gids.gid("InventoryItem", v.pk),
    "legacyResourceId": lambda v: str(gids.legacy_id("InventoryItem", v.pk)),
    "sku": lambda v: v.sku or None,
    "tracked": lambda v: v.tracked,
    "requiresShipping": lambda v: True,
    "duplicateSkuCount": lambda v: 0,
    "createdAt": lambda v: iso(v.created_at),
    "updatedAt": lambda v: iso(v.updated_at),
    "variant": lambda v: v,
    "trackedEditable": lambda v: {"locked": False, "reason": None},
    "measurement": lambda v: {"id": gids.gid("InventoryItem", v.pk), "weight": None},
}
for _name, _get in ITEM_FIELDS.items():
    RESOLVERS["InventoryItem"][_name] = lambda v, info, _get=_get, **kw: _get(v)


@resolves("InventoryItem", "inventoryLevels")
def _item_levels(variant, info, **args):
    rows = _active_levels(variant, include_inactive=bool(args.get("includeInactive")))
    if args.get("query"):
        location_filter = search.to_q(
            args["query"],
            {"location_id": search.legacy_id_field("location_id", gids.OFFSETS["Location"])},
        )
        keep = set(
            InventoryLevel.objects.filter(pk__in=[r.pk for r in rows])
            .filter(location_filter)
            .values_list("pk", flat=True)
        )
        rows = [r for r in rows if r.pk in keep]
    return connection(*page_list(rows, args, bulk=_ctx(info).bulk), lambda row: row)


@resolves("InventoryItem", "inventoryLevel")
def _item_level(variant, info, locationId, includeInactive=False):
    pk = gids.pk_of(locationId, "Location")
    for level in _active_levels(variant, include_inactive=bool(includeInactive)):
        if level.location_id == pk:
            return level
    return None


@resolves("InventoryItem", "variants")
def _item_variants(variant, info, **args):
    return connection(*page_list([variant], args, bulk=_ctx(info).bulk), lambda row: row)


# --- InventoryLevel --------------------------------------------------------------------------


def quantity_of(level: InventoryLevel, name: str) -> int:
    values = {
        "available": level.available,
        "committed": level.committed,
        "incoming": level.incoming,
        "on_hand": level.on_hand,
        "unavailable": 0,
    }
    return values.get(name, 0)


LEVEL_FIELDS = {
    "id": lambda lv: gids.level_gid(lv.pk, lv.variant_id),
    "isActive": lambda lv: lv.location.is_active,
    "canDeactivate": lambda lv: True,
    "deactivationAlert": lambda lv: None,
    "createdAt": lambda lv: iso(lv.created_at),
    "updatedAt": lambda lv: iso(lv.updated_at),
    "location": lambda lv: lv.location,
    "item": lambda lv: lv.variant,
}
for _name, _get in LEVEL_FIELDS.items():
    RESOLVERS["InventoryLevel"][_name] = lambda lv, info, _get=_get, **kw: _get(lv)


@resolves("InventoryLevel", "quantities")
def _level_quantities(level, info, names):
    unknown = [name for name in names if name not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity name(s): {', '.join(unknown)}.",
            extensions={"code": "BAD_REQUEST"},
        )
    return [
        {
            "id": f"gid://shopify/InventoryQuantity/{level.pk}?inventory_item_id="
            f"{gids.legacy_id('InventoryItem', level.variant_id)}&name={name}",
            "name": name,
            "quantity": quantity_of(level, name),
            "updatedAt": iso(level.updated_at),
        }
        for name in names
    ]


# --- Metafield -------------------------------------------------------------------------------

METAFIELD_FIELDS = {
    "id": lambda mf: gids.gid("Metafield", mf.pk),
    "legacyResourceId": lambda mf: str(gids.legacy_id("Metafield", mf.pk)),
    "namespace": lambda mf: mf.namespace,
    "key": lambda mf: mf.key,
    "type": lambda mf: mf.type,
    "value": lambda mf: mf.value,
    "ownerType": lambda mf: "PRODUCTVARIANT",
    "createdAt": lambda mf: iso(mf.updated_at),
    "updatedAt": lambda mf: iso(mf.updated_at),
    "compareDigest": lambda mf: str(hash((mf.pk, mf.value))),
}
for _name, _get in METAFIELD_FIELDS.items():
    RESOLVERS["Metafield"][_name] = lambda mf, info, _get=_get, **kw: _get(mf)


@resolves("Metafield", "jsonValue")
def _metafield_json(mf, info):
    if mf.type == "number_integer":
        try:
            return int(mf.value)
        except ValueError:
            return mf.value
    return mf.value


# --- BulkOperation ---------------------------------------------------------------------------


def bulk_file_url(info, op: BulkOperation) -> str | None:
    from django.urls import reverse

    if op.status != BulkOperation.Status.COMPLETED or not op.object_count:
        return None  # Shopify gives no file when the query matched nothing.
    path = reverse(
        "sandbox_shopify:bulk_file",
        kwargs={"shop": op.shop.domain, "pk": op.pk, "token": op.file_token},
    )
    request = _ctx(info).request
    return request.build_absolute_uri(path) if request is not None else path


BULK_FIELDS = {
    "id": lambda op: gids.gid("BulkOperation", op.pk),
    "status": lambda op: op.status,
    "type": lambda op: op.type,
    "query": lambda op: op.query,
    "errorCode": lambda op: op.error_code or None,
    "objectCount": lambda op: str(op.object_count),
    "rootObjectCount": lambda op: str(op.root_object_count),
    "fileSize": lambda op: None if op.file_size is None else str(op.file_size),
    "createdAt": lambda op: iso(op.created_at),
    "completedAt": lambda op: iso(op.completed_at),
    "partialDataUrl": lambda op: None,
}
for _name, _get in BULK_FIELDS.items():
    RESOLVERS["BulkOperation"][_name] = lambda op, info, _get=_get, **kw: _get(op)


@resolves("BulkOperation", "url")
def _bulk_url(op, info):
    return bulk_file_url(info, op)


# --- WebhookSubscription ---------------------------------------------------------------------

WEBHOOK_FIELDS = {
    "id": lambda sub: gids.gid("WebhookSubscription", sub.pk),
    "legacyResourceId": lambda sub: str(gids.legacy_id("WebhookSubscription", sub.pk)),
    "topic": lambda sub: sub.topic,
    "uri": lambda sub: sub.uri,
    "callbackUrl": lambda sub: sub.uri,
    "endpoint": lambda sub: Obj("WebhookHttpEndpoint", {"callbackUrl": sub.uri}),
    "format": lambda sub: sub.format,
    "name": lambda sub: sub.name or None,
    "filter": lambda sub: None,
    "includeFields": lambda sub: [],
    "metafieldNamespaces": lambda sub: [],
    "metafields": lambda sub: [],
    "apiVersion": lambda sub: {"handle": "2026-07", "displayName": "2026-07", "supported": True},
    "createdAt": lambda sub: iso(sub.created_at),
    "updatedAt": lambda sub: iso(sub.updated_at),
}
for _name, _get in WEBHOOK_FIELDS.items():
    RESOLVERS["WebhookSubscription"][_name] = lambda sub, info, _get=_get, **kw: _get(sub)


# --- InventoryAdjustmentGroup (the result of the inventory mutations) ------------------------

GROUP_FIELDS = {
    "id": lambda g: gids.gid("InventoryAdjustmentGroup", g.pk),
    "createdAt": lambda g: iso(g.created_at),
    "reason": lambda g: g.reason,
    "referenceDocumentUri": lambda g: g.reference_document_uri or None,
    "app": lambda g: None,
    "staffMember": lambda g: None,
}
for _name, _get in GROUP_FIELDS.items():
    RESOLVERS["InventoryAdjustmentGroup"][_name] = lambda g, info, _get=_get, **kw: _get(g)


@resolves("InventoryAdjustmentGroup", "changes")
def _group_changes(group, info, inventoryItemIds=None, locationIds=None, quantityNames=None):
    item_pks = {gids.pk_of(i, "InventoryItem") for i in inventoryItemIds or []}
    location_pks = {gids.pk_of(i, "Location") for i in locationIds or []}
    return [
        change
        for change in group.changes
        if (not inventoryItemIds or change["item"] in item_pks)
        and (not locationIds or change["location"] in location_pks)
        and (not quantityNames or change["name"] in quantityNames)
    ]


@resolves("InventoryChange", "item")
def _change_item(change, info):
    return variants_qs(_ctx(info).shop).filter(pk=change["item"]).first()


@resolves("InventoryChange", "location")
def _change_location(change, info):
    return Location.objects.filter(pk=change["location"]).first()
