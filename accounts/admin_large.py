"""Changelists of hundreds of thousands of rows (Variants, Listings): every page in a constant
number of queries, none of which reads the whole table (docs/BENCHMARKS.md, "Changelists").

    EstimatedCountPaginator    a large count from PostgreSQL's estimates, and a page
                               read as its ids first (a deep page skips index entries only)
    sku_first_search(...)      an exact or prefix SKU match (indexed) before a substring search
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

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
