"""Set-based SQL for large batches, shared by every app (accounts is the lowest one).

    id_set(ids)                               a list of ids as ONE parameter, for `pk__in=`
    column_in(model, column, ids)             the same as a filter, sized by the planner
    update_from_rows(model, columns, rows)    one UPDATE … FROM the rows, joined on the id
    insert_rows(model, columns, rows)         one INSERT … SELECT from the rows
    upsert_rows(model, columns, rows, …)      the same, ON CONFLICT … DO UPDATE

A recompute of 100,000 listings reads and writes in batches of thousands of rows. Thousands of
placeholders per statement, or one statement per row, were most of its time (docs/BENCHMARKS.md):
PostgreSQL takes each column as one array (`unnest`), SQLite the rows as one JSON document
(`json_each`). Values must already be in the database's form (`get_db_prep_save`), and text
values hashable (a column's distinct texts are sent once, `_source`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connection
from django.db.models import BooleanField, Model
from django.db.models.expressions import RawSQL


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def _cursor() -> Iterator:
    """A cursor for the bulk statements. On PostgreSQL it binds parameters on the server:
    Django's default (client-side binding) spells every array element into the SQL text in
    Python, which cost more than the statement itself. Still wrapped by Django, so the
    statements are seen by `execute_wrapper` and the test suite's query counts."""
    if not _postgres():
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg  # only on PostgreSQL, whose backend already needs it

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    logged = connection.queries_logged  # as Django's own cursor() decides
    with (connection.make_debug_cursor if logged else connection.make_cursor)(raw) as cursor:
        yield cursor


def id_set(ids: Iterable[int]):
    """`ids` as a subquery with one parameter: `filter(pk__in=id_set(ids))`, any number of ids."""
    ids = list(ids)
    if _postgres():
        # One text parameter: psycopg spells a list parameter element by element in Python.
        return RawSQL(
            "SELECT unnest(string_to_array(%s, ',')::bigint[])", (",".join(map(str, ids)),)
        )
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))
    return ids


def column_in(model: type[Model], column: str, ids: Iterable[int]) -> RawSQL:
    """`column IN ids` as a filter with one parameter: `filter(column_in(Listing, "variant_id",
    ids))`.

    For one query over a whole catalogue. PostgreSQL plans `= ANY(array)` from the array's
    length; `id_set`'s subquery is guessed at 200 rows, so 100,000 ids became 100,000 index
    probes (1.2 s, against 0.2 s for the scan this plans). It names the model's table, so it
    filters that table's own query, not a subquery (where Django aliases the table).
    """
    ids = list(ids)
    quote = connection.ops.quote_name
    name = f"{quote(model._meta.db_table)}.{quote(column)}"
    if _postgres():
        sql = f"{name} = ANY(string_to_array(%s, ',')::bigint[])"
        return RawSQL(sql, (",".join(map(str, ids)),), output_field=BooleanField())
    subquery = id_set(ids)
    return RawSQL(f"{name} IN ({subquery.sql})", subquery.params, output_field=BooleanField())


def _array_type(model: type[Model], attname: str) -> str:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if field.get_internal_type() == "JSONField":
        return "text"  # cast to jsonb after unnest: an array of jsonb is not what we mean
    db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    return db_type


# Numbers and flags travel as one text, joined and split in C (psycopg spells a list parameter
# element by element in Python, which cost more than the statement that used it), when every
# value is of the column's Python type or None.
_AS_TEXT = {"integer": int, "bigint": int, "smallint": int, "boolean": bool}


def _source(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence]):
    """The rows as a derived table `v` with the given column names, and its parameters."""
    quote = connection.ops.quote_name
    if not _postgres():
        picks = ", ".join(
            f"json_extract(value, '$[{i}]') AS {quote(c)}" for i, c in enumerate(columns)
        )
        return f"(SELECT {picks} FROM json_each(%s)) AS v", [json.dumps(rows, default=str)]
    # Each column is one array. Text goes as its distinct values (a batch shares a few
    # statuses, messages and traces) and each row's position among them; any other type, or
    # numbers mixed with other types, as a binary array.
    picks, arrays, lookups, params = [], [], [], []
    for column, values in zip(columns, zip(*rows, strict=True), strict=True):
        name, kind = quote(column), _array_type(model, column)
        if set(map(type, values)) <= {_AS_TEXT.get(kind), type(None)}:
            arrays.append(f"string_to_array(%s, ',', 'None')::{kind}[]")
            params.append(",".join(map(str, values)))
            picks.append(f"u.{name}")
        elif kind == "text" or kind.startswith("varchar"):
            distinct = list(dict.fromkeys(values))  # str: equal is the same text
            position = {value: at for at, value in enumerate(distinct, 1)}
            arrays.append("string_to_array(%s, ',')::integer[]")
            params.append(",".join(map(str, map(position.__getitem__, values))))
            picks.append(f"(%b::{kind}[])[u.{name}] AS {name}")
            lookups.append(distinct)
        else:
            arrays.append(f"%b::{kind}[]")
            params.append(list(values))
            picks.append(f"u.{name}")
    names = ", ".join(quote(c) for c in columns)
    source = f"(SELECT {', '.join(picks)} FROM unnest({', '.join(arrays)}) AS u({names})) AS v"
    return source, [*lookups, *params]


def _value(model: type[Model], attname: str) -> str:
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    column = f"v.{connection.ops.quote_name(attname)}"
    if _postgres() and field.get_internal_type() == "JSONField":
        return f"{column}::jsonb"
    return column


def update_from_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    key: str = "id",
    same: dict[str, object] | None = None,
) -> int:
    """UPDATE `model` SET every column but `key` from `rows` (tuples in `columns` order), in one
    statement. Returns the number of rows updated. `same`: columns set to one value for every
    row (a timestamp), sent once."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    same = same or {}
    source, params = _source(model, columns, rows)
    sets = ", ".join(
        [
            *(f"{quote(c)} = {_value(model, c)}" for c in columns if c != key),
            *(f"{quote(c)} = {_scalar(model, c)}" for c in same),
        ]
    )
    target = f"{table}.{quote(key)}"
    sql = f"UPDATE {table} SET {sets} FROM {source} WHERE {target} = v.{quote(key)}"
    params = [*same.values(), *params]
    at = columns.index(key)
    keys = [row[at] for row in rows]
    if _postgres() and set(map(type, keys)) == {int}:
        # The keys once more, as an array the planner sizes (`column_in`): it then reads these
        # rows by their index. Joined to the unnested rows alone, it hashed the whole table for
        # every batch (a sequential scan of 100,000 listings to update 2,000).
        by_key = column_in(model, key, keys)
        sql += f" AND {by_key.sql}"
        params.extend(by_key.params)
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    same: dict[str, object] | None = None,
) -> None:
    """INSERT `rows` (tuples in `columns` order) into `model`'s table in one statement.

    `same`: columns whose value is the same for every row, sent once instead of once per row
    (a batch of pushes shares two thirds of its columns)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    same = same or {}
    source, params = _source(model, columns, rows)
    names = ", ".join(quote(c) for c in [*columns, *same])
    values = ", ".join([*(_value(model, c) for c in columns), *(_scalar(model, c) for c in same)])
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {values} FROM {source}"
    with _cursor() as cursor:
        cursor.execute(sql, [*same.values(), *params])


def _scalar(model: type[Model], attname: str) -> str:
    """A placeholder for one value of `attname`, typed on PostgreSQL."""
    if not _postgres():
        return "%s"
    # `_array_type` says "text" for JSON, which a scalar is cast from.
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    cast = "jsonb" if field.get_internal_type() == "JSONField" else _array_type(model, attname)
    return f"%s::{cast}"


def upsert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    changed_only: bool = False,
    newer_only: str = "",
) -> None:
    """INSERT `rows`, or UPDATE the `update` columns of the row with the same `unique` columns,
    in one statement (a key must not appear twice in `rows`). `changed_only`: leave a row whose
    `update` columns already hold those values untouched (no new row version to vacuum).
    `newer_only` (a column, e.g. a timestamp): leave a row whose value there is already later
    than the incoming one."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    source, params = _source(model, columns, rows)
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(_value(model, c) for c in columns)
    sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
    where = ""
    if changed_only:
        differs = "IS DISTINCT FROM" if _postgres() else "IS NOT"
        where = (
            " WHERE ("
            + " OR ".join(f"{table}.{quote(c)} {differs} excluded.{quote(c)}" for c in update)
            + ")"
        )
    if newer_only:
        column = quote(newer_only)
        where += f"{' AND' if where else ' WHERE'} {table}.{column} <= excluded.{column}"
    # `WHERE true`: SQLite would otherwise read ON CONFLICT as a join's ON.
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {values} FROM {source} WHERE true "
        f"ON CONFLICT ({', '.join(quote(c) for c in unique)}) DO UPDATE SET {sets}{where}"
    )
    with _cursor() as cursor:
        cursor.execute(sql, params)
