"""Changelists of hundreds of thousands of rows (Variants, Listings): every page in a constant
number of queries, none of which reads the whole table (docs/BENCHMARKS.md, "Changelists").

    EstimatedCountPaginator    a large count from PostgreSQL's estimates, and a page
                               read as its ids first (a deep page skips index entries only)
    sku_first_search(...)      an exact or prefix SKU match (indexed) before a substring search
    indexed_search(...)        the substring search of `search_fields`, each table's rows read
                               from its own trigram indexes (or a narrow copy's: `search_table`)
"""

import json

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

# Below this many rows an exact COUNT(*) is cheap and an estimate would only look wrong.
ESTIMATE_ABOVE = 10_000


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL a changelist of more than ESTIMATE_ABOVE rows shows PostgreSQL's estimate
    of its count (`reltuples` kept by autovacuum, or the planner's for a filter) instead of a
    COUNT(*) over all of them; fewer rows are counted exactly.

    A page's rows are picked by their ids first (a subquery with the changelist's filters and
    order, nothing else: an index scan), and only those rows get their joins and computed
    columns. Read whole, `?p=500` built every joined and computed column of the 50,000 rows
    it skips.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not queryset.query.where:
            estimate = _table_estimate(queryset)
            return estimate if estimate > ESTIMATE_ABOVE else super().count
        # Filtered: count exactly up to ESTIMATE_ABOVE (stops there when rows are many), and
        # beyond it take the planner's estimate, which is never shown below what was counted.
        counted = queryset.order_by().values("pk")[: ESTIMATE_ABOVE + 1].count()
        if counted <= ESTIMATE_ABOVE:
            return counted
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        return max(int(plan[0]["Plan"]["Plan Rows"]), counted)

    def page(self, number):
        number = self.validate_number(number)
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().page(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids = queryset.values("pk")[bottom:top]
        return self._get_page(queryset.filter(pk__in=page_ids), number, self)


def _table_estimate(queryset: QuerySet) -> int:
    """The table's row count as autovacuum last measured it (`reltuples`), read not counted."""
    connection = connections[queryset.db]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def sku_first_search(queryset: QuerySet, term: str, field: str = "sku") -> QuerySet | None:
    """Rows whose SKU is `term` or starts with it (as typed or upper-cased), or None when none
    does. One query, on the SKU's prefix index; a term with spaces is no SKU."""
    term = term.strip()
    if not term or any(char.isspace() for char in term):
        return None
    wanted = Q(**{f"{field}__startswith": term})
    if term.upper() != term:
        wanted |= Q(**{f"{field}__startswith": term.upper()})
    matches = queryset.filter(wanted)
    return matches if matches.exists() else None


def indexed_search(
    queryset: QuerySet, search_fields, term: str, *, search_table=None
) -> QuerySet | None:
    """The admin's substring search (every word in one of `search_fields`, any case), its
    candidates read from the trigram indexes (accounts/migrations/0009) of each table on its own.

    `search_table`: on PostgreSQL, a model that copies some of the searched model's own fields
    under its primary key (selling_lists.ListingSearch): those fields' candidates are read from
    its indexes, which the searched table's frequent writes then do not have to maintain.

    A join of three tables ORed across them can only scan them all. So the rarest word (by the
    planner's estimate) picks the candidates: the ids of the rows whose own fields contain it,
    UNION ALL those whose related row's (a foreign key) do, each branch on its table's index.
    Every word is then checked on those rows as the admin checks it. A word that most rows
    contain is no use as an index: with none rarer than ESTIMATE_ABOVE rows the plain search
    walks the changelist's order and stops at a page. None when a field is not a plain
    substring (`^sku`, ...) or not reached through foreign keys: the admin's own search applies.
    """
    tree = _search_tree(queryset.model, search_fields)
    if tree is None:
        return None
    words = []
    for word in smart_split(term):
        if word.startswith(('"', "'")) and word[0] == word[-1]:
            word = unescape_string_literal(word)
        words.append(word)
    if not words:
        return queryset
    if connections[queryset.db].vendor != "postgresql":
        search_table = None  # kept by PostgreSQL's triggers only
    candidates = [_containing(queryset.model, tree, word, search_table) for word in words]
    rows, rarest = min(((_estimate(ids), ids) for ids in candidates), key=lambda pair: pair[0])
    if rows <= ESTIMATE_ABOVE:
        queryset = queryset.filter(pk__in=rarest)
    for word in words:
        lookups = [(f"{path}__icontains", word) for path in search_fields]
        queryset = queryset.filter(Q.create(lookups, connector=Q.OR))
    return queryset


def _estimate(queryset: QuerySet) -> int:
    """The planner's estimate of the rows of `queryset` on PostgreSQL (0 elsewhere: SQLite
    searches from the candidates always). One EXPLAIN, nothing read."""
    if connections[queryset.db].vendor != "postgresql":
        return 0
    return int(json.loads(queryset.explain(format="json"))[0]["Plan"]["Plan Rows"])


def _search_tree(model, search_fields) -> dict | None:
    """{"fields": [own field names], "relations": {foreign key: subtree}}, or None."""
    tree: dict = {"fields": [], "relations": {}}
    for path in search_fields:
        *relations, name = path.split("__")
        node, current = tree, model
        try:
            for relation in relations:
                field = current._meta.get_field(relation)
                if not (field.many_to_one or field.one_to_one) or field.auto_created:
                    return None
                node = node["relations"].setdefault(relation, {"fields": [], "relations": {}})
                current = field.related_model
            if current._meta.get_field(name).is_relation:
                return None
        except FieldDoesNotExist:  # `^sku`, `=sku`, `sku__iexact`: not a plain substring
            return None
        node["fields"].append(name)
    return tree


def _containing(model, tree: dict, word: str, search_table=None) -> QuerySet:
    """The ids of `model` rows one of whose fields in `tree` contains `word`, those of its own
    fields that `search_table` copies read there."""
    manager = model._default_manager
    branches = []
    own = tree["fields"]
    if search_table is not None:
        copies = {field.name for field in search_table._meta.get_fields()}
        copied = [name for name in own if name in copies]
        if copied:
            branches.append(search_table._default_manager.filter(_any_contains(copied, word)))
            own = [name for name in own if name not in copied]
    if own:
        branches.append(manager.filter(_any_contains(own, word)))
    for relation, subtree in tree["relations"].items():
        related = model._meta.get_field(relation).related_model
        branches.append(manager.filter(**{f"{relation}__in": _containing(related, subtree, word)}))
    first, *rest = [branch.order_by().values("pk") for branch in branches]
    return first.union(*rest, all=True) if rest else first


def _any_contains(names: list[str], word: str) -> Q:
    return Q.create([(f"{name}__icontains", word) for name in names], connector=Q.OR)
