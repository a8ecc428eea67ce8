"""One GraphQL request, end to end: parse, validate, cost, throttle, execute, answer.

Validation uses the official 2026-07 schema, so a query Shopify would refuse is refused here
too. Error codes follow Shopify's (graphql-ruby) names where graphql-core's message tells which
rule failed; the messages themselves are graphql-core's.
"""

import logging
import re

from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from . import (
    mutations,  # noqa: F401  (registers the mutation resolvers)
    throttle,
)
from .cost import MAX_QUERY_COST, query_cost
from .resolvers import Context, field_resolver, type_resolver
from .schema import admin_schema

logger = logging.getLogger(__name__)

_VALIDATION_CODES = [
    (re.compile(r"^Cannot query field"), "undefinedField"),
    (re.compile(r"^Unknown argument"), "argumentNotAccepted"),
    (re.compile(r"is required, but it was not provided"), "missingRequiredArguments"),
    (re.compile(r"^Unknown type"), "undefinedType"),
    (
        re.compile(r"must have a selection of subfields|must not have a selection"),
        "selectionMismatch",
    ),
    (re.compile(r"^Variable .* is never used"), "variableNotUsed"),
    (re.compile(r"^Variable .* is not defined"), "variableNotDefined"),
    (re.compile(r"used in position expecting"), "variableMismatch"),
    (re.compile(r"^Unknown directive"), "undefinedDirective"),
    (
        re.compile(r"cannot represent|Expected value of type|Enum .* cannot"),
        "argumentLiteralsIncompatible",
    ),
]

THROTTLED_DOCS = "https://shopify.dev/api/usage/rate-limits"


def _validation_code(message: str) -> str:
    for pattern, code in _VALIDATION_CODES:
        if pattern.search(message):
            return code
    return "GRAPHQL_VALIDATION_FAILED"


def _format(error: GraphQLError, default_code: str) -> dict:
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def _cost(requested, actual, status) -> dict:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status,
        }
    }


def run(*, shop, request, query: str, variables: dict | None, operation_name: str | None) -> dict:
    """Answer one GraphQL request for `shop` as the Admin API would (the JSON body)."""
    schema = admin_schema()
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return {
            "errors": [_format(exc, "PARSE_ERROR")],
            "extensions": _cost(0, 0, throttle.peek(shop.pk)),
        }
    problems = validate(schema, document)
    if problems:
        return {
            "errors": [_format(e, _validation_code(e.message)) for e in problems],
            "extensions": _cost(0, 0, throttle.peek(shop.pk)),
        }
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f'No operation named "{operation_name}"'
            if operation_name
            else "An operation name is required when the document has several operations"
        )
        return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    if operation.operation == OperationType.SUBSCRIPTION:
        return {
            "errors": [
                {
                    "message": "Subscriptions are not supported",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        }

    requested = query_cost(schema, document, operation, variables)
    if requested > MAX_QUERY_COST:
        return {
            "errors": [
                {
                    "message": f"Query cost is {requested}, which exceeds the single query max "
                    f"cost limit ({MAX_QUERY_COST}).\n\nSee {THROTTLED_DOCS} for more "
                    "information on how the cost of a query is calculated.\n\nTo query larger "
                    "amounts of data with fewer limits, bulk operations should be used instead.",
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": requested,
                        "maxCost": MAX_QUERY_COST,
                    },
                }
            ],
            "extensions": _cost(requested, None, throttle.peek(shop.pk)),
        }
    allowed, status = throttle.take(shop.pk, requested)
    if not allowed:
        return {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOCS},
                }
            ],
            "extensions": _cost(requested, None, status),
        }

    result = execute(
        schema,
        document,
        context_value=Context(shop=shop, request=request),
        variable_values=variables or {},
        operation_name=operation_name,
        field_resolver=field_resolver,
        type_resolver=type_resolver,
    )
    body: dict = {}
    if result.errors:
        body["errors"] = [_format_execution_error(e) for e in result.errors]
    if result.data is not None or not result.errors:
        body["data"] = result.data
    actual = query_cost(schema, document, operation, variables, data=result.data or {})
    status = throttle.refund(shop.pk, requested - actual) if actual < requested else status
    body["extensions"] = _cost(requested, actual, status)
    return body


def _format_execution_error(error: GraphQLError) -> dict:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        logger.exception("sandbox resolver failed", exc_info=original)
        formatted = {
            "message": "Internal error. Looks like something went wrong on our end.",
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
        if error.path:
            formatted["path"] = list(error.path)
        return formatted
    if error.message.startswith("Variable '$"):
        return _format(error, "INVALID_VARIABLE")
    return _format(error, "BAD_REQUEST")
