"""Changelists of hundreds of thousands of rows (Variants, Listings): every page in a constant
number of queries, none of which reads the whole table (docs/BENCHMARKS.md, "Changelists").

    EstimatedCountPaginator    the unfiltered count from PostgreSQL's statistics
    sku_first_search(...)      an exact or prefix SKU match (indexed) before a substring search
"""

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

# Below this many rows an exact COUNT(*) is cheap and an estimate would only look wrong.
ESTIMATE_ABOVE = 10_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered changelist counts its rows from PostgreSQL's statistics (`reltuples`, kept
    by autovacuum) instead of COUNT(*) over the table; a filtered or small one counts exactly."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                        [connection.ops.quote_name(queryset.model._meta.db_table)],
                    )
                    row = cursor.fetchone()
                if row and row[0] > ESTIMATE_ABOVE:
                    return row[0]
        return super().count


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
