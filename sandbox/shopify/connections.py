"""Relay-style cursor connections over querysets, as Shopify pages them."""

import base64
import json

from graphql import GraphQLError

MAX_PAGE_SIZE = 250


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": pk}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


def _user_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})


def page(queryset, args: dict, *, bulk_window: tuple[int, int] | None = None, bulk=False):
    """One page of `queryset` (ordered by pk) as (rows, page_info).

    `args` are the GraphQL connection arguments (first/after/last/before/reverse). In a bulk
    operation there is no `first`: nested connections return everything and the root one returns
    the window (after_pk, size) the bulk runner asks for.
    """
    reverse = bool(args.get("reverse"))
    if bulk:
        if bulk_window is not None:
            after_pk, size = bulk_window
            rows = list(queryset.filter(pk__gt=after_pk).order_by("pk")[:size])
        else:
            rows = list(queryset.order_by("pk"))
        return rows, {"hasNextPage": False, "hasPreviousPage": False}

    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise _user_error("you must provide one of first or last")
    if first is not None and last is not None:
        raise _user_error("providing both first and last is not supported")
    size = first if first is not None else last
    if size < 0:
        raise _user_error("first and last must be non-negative")
    if size > MAX_PAGE_SIZE:
        raise _user_error(
            f"The page size {size} exceeds the maximum page size of {MAX_PAGE_SIZE} records."
        )

    forward_order = "-pk" if reverse else "pk"
    qs = queryset
    if args.get("after"):
        pk = decode_cursor(args["after"])
        qs = qs.filter(pk__lt=pk) if reverse else qs.filter(pk__gt=pk)
    if args.get("before"):
        pk = decode_cursor(args["before"])
        qs = qs.filter(pk__gt=pk) if reverse else qs.filter(pk__lt=pk)

    if first is not None:
        rows = list(qs.order_by(forward_order)[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = bool(args.get("after"))
    else:
        backward_order = "pk" if reverse else "-pk"
        rows = list(qs.order_by(backward_order)[: size + 1])
        has_previous = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_next = bool(args.get("before"))
    return rows, {"hasNextPage": has_next, "hasPreviousPage": has_previous}


def connection(rows, page_info: dict, wrap) -> dict:
    """The GraphQL value of a connection: nodes, edges with cursors, and pageInfo."""
    nodes = [wrap(row) for row in rows]
    edges = [
        {"cursor": encode_cursor(row.pk), "node": node}
        for row, node in zip(rows, nodes, strict=True)
    ]
    info = dict(page_info)
    info["startCursor"] = edges[0]["cursor"] if edges else None
    info["endCursor"] = edges[-1]["cursor"] if edges else None
    return {"nodes": nodes, "edges": edges, "pageInfo": info}


def page_list(rows: list, args: dict, *, bulk=False):
    """Like `page` for rows already in memory (prefetched), sorted by pk."""
    if bulk:
        return list(rows), {"hasNextPage": False, "hasPreviousPage": False}
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise _user_error("you must provide one of first or last")
    size = first if first is not None else last
    if size < 0 or size > MAX_PAGE_SIZE:
        raise _user_error(
            f"The page size {size} exceeds the maximum page size of {MAX_PAGE_SIZE} records."
        )
    ordered = sorted(rows, key=lambda row: row.pk, reverse=bool(args.get("reverse")))
    if args.get("after"):
        pk = decode_cursor(args["after"])
        index = next((i for i, row in enumerate(ordered) if row.pk == pk), None)
        ordered = ordered[index + 1 :] if index is not None else []
    if args.get("before"):
        pk = decode_cursor(args["before"])
        index = next((i for i, row in enumerate(ordered) if row.pk == pk), len(ordered))
        ordered = ordered[:index]
    if first is not None:
        return ordered[:size], {
            "hasNextPage": len(ordered) > size,
            "hasPreviousPage": bool(args.get("after")),
        }
    return ordered[-size:] if size else [], {
        "hasNextPage": bool(args.get("before")),
        "hasPreviousPage": len(ordered) > size,
    }
