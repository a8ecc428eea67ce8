"""Validate data against Amazon's official models (copies in ``settings.API_SPECS_DIR / "amazon"``).

The SP-API models are Swagger 2.0: their ``definitions`` are JSON Schema (draft 4 flavour) with
``#/definitions/...`` references, so a definition is checked by pointing a draft-4 validator at
it with the definitions alongside. Strict mode also refuses properties the model does not
declare, so a misspelt key in a sandbox answer fails instead of slipping through.

    validate_response("listingsItems_2021-08-01.json", "Item", data)
    validate_operation_response("GET", "/listings/2021-08-01/items/S/SKU", 200, data)
    validate_json_schema("listings-feed-schema-v2.json", document)
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path

import jsonschema
from django.conf import settings

MODEL_FILES = (
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
    "reports_2021-06-30.json",
    "orders_2026-01-01.json",
)

_format_checker = jsonschema.FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # RFC 3339 needs a time zone; fromisoformat alone would accept naive times.
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return True


def specs_dir() -> Path:
    return Path(settings.API_SPECS_DIR) / "amazon"


@cache
def load_spec(file_name: str) -> dict:
    """The parsed JSON of one spec file (cached; treat it as read-only)."""
    return json.loads((specs_dir() / file_name).read_text(encoding="utf-8"))


def _forbid_undeclared(node: object) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _forbid_undeclared(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_undeclared(value)


@cache
def _definitions(model_file: str, strict: bool) -> dict:
    definitions = copy.deepcopy(load_spec(model_file)["definitions"])
    if strict:
        _forbid_undeclared(definitions)
    return definitions


@cache
def _definition_validator(model_file: str, definition: str, strict: bool):
    definitions = _definitions(model_file, strict)
    if definition not in definitions:
        raise KeyError(f"{model_file} has no definition {definition!r}")
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
    return jsonschema.Draft4Validator(schema, format_checker=_format_checker)


def validate_response(model_file: str, definition_name: str, data: object, *, strict=True) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` matches the named definition."""
    _definition_validator(model_file, definition_name, strict).validate(data)


@cache
def _operations() -> list[tuple[re.Pattern, str, str, dict]]:
    """(path regex, method, model file, operation) for every operation of the models we serve."""
    operations = []
    for model_file in MODEL_FILES:
        for template, item in load_spec(model_file)["paths"].items():
            pattern = re.escape(template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            for method, operation in item.items():
                if method == "parameters":
                    continue
                operations.append(
                    (re.compile(f"^{pattern}$"), method.upper(), model_file, operation)
                )
    # Literal paths first, so /feeds/.../documents wins over /feeds/.../{feedId} patterns.
    operations.sort(key=lambda op: op[0].pattern.count("[^/]+"))
    return operations


def find_operation(method: str, path: str) -> tuple[str, dict]:
    """The (model file, operation) that serves ``method path`` (path without the sandbox prefix)."""
    for pattern, op_method, model_file, operation in _operations():
        if op_method == method.upper() and pattern.match(path):
            return model_file, operation
    raise LookupError(f"no official operation for {method} {path}")


def validate_operation_response(
    method: str, path: str, status: int, data: object, *, strict=True
) -> str:
    """Validate an answer against the schema its operation declares for that status code.

    Returns the operationId. Raises ``LookupError`` if the model declares no such status.
    """
    model_file, operation = find_operation(method, path)
    response = operation["responses"].get(str(status))
    if response is None and status >= 400 and "ErrorList" in load_spec(model_file)["definitions"]:
        # The models do not list every error status (e.g. 404 on patchListingsItem), but every
        # SP-API error body is an ErrorList.
        response = {"schema": {"$ref": "#/definitions/ErrorList"}}
    if response is None:
        raise LookupError(f"{operation['operationId']} declares no {status} response")
    schema = response.get("schema")
    if schema is None:
        if data not in (None, {}, b"", ""):
            raise jsonschema.ValidationError(f"{operation['operationId']} {status} has no body")
        return operation["operationId"]
    ref = schema["$ref"].rsplit("/", 1)[-1]
    validate_response(model_file, ref, data, strict=strict)
    return operation["operationId"]


@cache
def _schema_validator(schema_file: str):
    schema = load_spec(schema_file)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=_format_checker)


def validate_json_schema(schema_file: str, data: object) -> None:
    """Raise unless ``data`` matches a JSON Schema file (feed document, processing report...)."""
    _schema_validator(schema_file).validate(data)


def json_schema_errors(schema_file: str, data: object) -> list[str]:
    """Readable messages of every way ``data`` breaks a JSON Schema file (empty when valid)."""
    errors = sorted(_schema_validator(schema_file).iter_errors(data), key=lambda e: list(e.path))
    return [f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in errors]
