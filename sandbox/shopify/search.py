"""Shopify's `query:` search syntax, the subset Stocklink uses, turned into Django `Q` objects.

Supported: `field:value`, `field:>value` (also `>=`, `<`, `<=`), quoted values, `AND` (or plain
whitespace) binding tighter than `OR`, a leading `-` to negate, and bare words (title/SKU match).
Unknown fields are ignored, as Shopify ignores them (it only warns in `extensions.search`).
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, time

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

_TOKEN = re.compile(
    r"""(?P<neg>-)?(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?P<value>"[^"]*"|'[^']*'|[^\s()]+)"""
    r"""|(?P<bool>\bOR\b|\bAND\b)|(?P<word>"[^"]*"|[^\s()]+)"""
)
_LOOKUP = {None: "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}

# A field maps to a function (op, raw value) -> Q, or None when the value cannot apply.
FieldMap = dict[str, Callable[[str, str], Q | None]]


def parse_when(raw: str) -> datetime | None:
    """ISO datetime or date; naive values are UTC, as Shopify reads them."""
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            return None
        value = datetime.combine(day, time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def datetime_field(column: str):
    def build(op, raw):
        when = parse_when(raw)
        return None if when is None else Q(**{f"{column}__{_LOOKUP[op]}": when})

    return build


def text_field(column: str):
    def build(op, raw):
        if op is None and raw.endswith("*"):
            return Q(**{f"{column}__istartswith": raw[:-1]})
        return Q(**{f"{column}__{'iexact' if op is None else _LOOKUP[op]}": raw})

    return build


def legacy_id_field(column: str, offset: int):
    """`id:123` compares the numeric (legacy) id, which is the pk plus the type's offset."""

    def build(op, raw):
        try:
            number = int(raw.rsplit("/", 1)[-1])
        except ValueError:
            return None
        return Q(**{f"{column}__{_LOOKUP[op]}": number - offset})

    return build


def bool_field(column: str):
    def build(op, raw):
        return Q(**{column: raw.lower() in ("true", "1", "yes")})

    return build


def to_q(query: str | None, fields: FieldMap, free_text: tuple[str, ...] = ()) -> Q:
    """The filter for `query`; an empty Q (everything) when the string is blank."""
    if not query or not query.strip():
        return Q()
    groups: list[list[Q]] = [[]]
    for match in _TOKEN.finditer(query):
        if match["bool"] == "OR":
            groups.append([])
            continue
        if match["bool"] == "AND":
            continue
        if match["field"]:
            builder = fields.get(match["field"])
            if builder is None:
                continue
            term = builder(match["op"], match["value"].strip("\"'"))
            if term is None:
                continue
            groups[-1].append(~term if match["neg"] else term)
        elif match["word"] and free_text:
            word = match["word"].strip('"')
            term = Q()
            for column in free_text:
                term |= Q(**{f"{column}__icontains": word})
            groups[-1].append(term)
    result = Q()
    any_group = False
    for group in groups:
        if not group:
            continue
        conj = Q()
        for term in group:
            conj &= term
        result = conj if not any_group else result | conj
        any_group = True
    return result
