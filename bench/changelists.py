"""Admin pages at scale: the Listings and Variants changelists and the Update Qty confirmation.

.venv/bin/python bench/changelists.py [--sizes 100000,300000] [--runs 5] [--configs postgres]
                                      [--only variants]   (pages whose name starts so)

Per configuration and size N, on a fresh database: the mirror is built as `bench/recompute.py`
builds it (N variants at 2 locations, N listings in one Selling List), statistics are gathered
(VACUUM ANALYZE on PostgreSQL, as autovacuum would), then a fresh process signs in a superuser
with Django's test client and requests each page `--runs` times after one warm-up: wall time of
the whole request (middleware, queries, template), the time of its SQL queries (`sql_ms`, as
Django's debug cursor times them) and their number. The Update Qty page is the Selling List's
action on the one list of N listings (POST, not confirmed).
Prints one JSON line; `--measure` alone measures the database in DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _common import ROOT, machine

TARGET_MS = 300


def pages(size: int) -> list[tuple[str, str, dict, str]]:
    """(name, admin url name, parameters, method)."""
    mid = size // 2
    return [
        ("listings", "admin:selling_lists_listing_changelist", {}, "get"),
        ("listings ?p=500", "admin:selling_lists_listing_changelist", {"p": "500"}, "get"),
        (
            "listings ?o=-1 (SKU descending)",
            "admin:selling_lists_listing_changelist",
            {"o": "-1"},
            "get",
        ),
        (
            "listings ?q=<exact SKU>",
            "admin:selling_lists_listing_changelist",
            {"q": f"SKU-{mid:06d}"},
            "get",
        ),
        (
            "listings ?q=<SKU prefix, lower case>",
            "admin:selling_lists_listing_changelist",
            {"q": f"sku-{mid // 100:04d}"},
            "get",
        ),
        (
            "listings ?q=<inside a SKU> (substring)",
            "admin:selling_lists_listing_changelist",
            {"q": f"KU-{mid:06d}"},
            "get",
        ),
        (
            "listings ?q=<product title> (substring fallback)",
            "admin:selling_lists_listing_changelist",
            {"q": f"Product {mid}"},
            "get",
        ),
        (
            "listings ?status=linked",
            "admin:selling_lists_listing_changelist",
            {"status__exact": "linked"},
            "get",
        ),
        (
            "listings ?status=linked&p=500",
            "admin:selling_lists_listing_changelist",
            {"status__exact": "linked", "p": "500"},
            "get",
        ),
        (
            "listings ?state=failed (none match)",
            "admin:selling_lists_listing_changelist",
            {"state": "failed"},
            "get",
        ),
        (
            "listings ?selling_list=<the list>",
            "admin:selling_lists_listing_changelist",
            {"selling_list__id__exact": "LIST"},
            "get",
        ),
        (
            "listings ?stock_missing=yes",
            "admin:selling_lists_listing_changelist",
            {"stock_missing__exact": "1"},
            "get",
        ),
        (
            "listings ?paused=yes",
            "admin:selling_lists_listing_changelist",
            {"paused__exact": "1"},
            "get",
        ),
        (
            "listings ?sync=out (out of sync)",
            "admin:selling_lists_listing_changelist",
            {"sync": "out"},
            "get",
        ),
        ("variants", "admin:accounts_variant_changelist", {}, "get"),
        ("variants ?p=500", "admin:accounts_variant_changelist", {"p": "500"}, "get"),
        (
            "variants ?q=<exact SKU>",
            "admin:accounts_variant_changelist",
            {"q": f"SKU-{mid:06d}"},
            "get",
        ),
        (
            "variants ?tracked=yes",
            "admin:accounts_variant_changelist",
            {"tracked__exact": "1"},
            "get",
        ),
        (
            "Update Qty confirmation (whole list)",
            "admin:selling_lists_sellinglist_changelist",
            {"action": "update_qty"},
            "post",
        ),
    ]


def measure(runs: int, only: str = "") -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from selling_lists.models import Listing, SellingList

    setup_test_environment()  # the responses carry their template context (rows, counts)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    user = get_user_model().objects.filter(username="bench-admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-admin", "b@example.com", None)
    client = Client(raise_request_exception=True)
    client.force_login(user)
    size = Listing.objects.count()
    list_id = str(SellingList.objects.values_list("pk", flat=True).first())
    results = {}
    for name, url_name, params, method in pages(size):
        if not name.startswith(only):
            continue
        params = {k: list_id if v == "LIST" else v for k, v in params.items()}
        if method == "post":
            params = {**params, "_selected_action": [list_id]}
        url = reverse(url_name)
        samples, queries, sql = [], [], []
        for run in range(runs + 1):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = getattr(client, method)(url, params)
                seconds = time.perf_counter() - start
            assert response.status_code == 200, (name, response.status_code)
            if run:  # the first request warms caches
                samples.append(seconds * 1000)
                queries.append(len(ctx))
                sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        cl = response.context.get("cl") if response.context else None
        results[name] = {
            "median_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1),
            "sql_ms": round(statistics.median(sql), 1),  # the queries' own time, summed
            "queries": queries[0],
            "rows": len(cl.result_list) if cl is not None else len(response.context["rows"]),
            "count_shown": cl.result_count if cl is not None else response.context["total"],
        }
    print(json.dumps({"listings": size, "database": connection.vendor, "pages": results}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--configs", default="postgres")
    parser.add_argument("--measure", action="store_true", help="measure DATABASE_URL only")
    parser.add_argument("--only", default="", help="only the pages whose name starts so")
    args = parser.parse_args()
    if args.measure:
        measure(args.runs, args.only)
        return

    from _stack import Stack, Unavailable

    results: dict = {}
    for config in args.configs.split(","):
        results[config] = {}
        for size in [int(s) for s in args.sizes.split(",")]:
            try:
                with Stack(
                    config=config,
                    worker=False,
                    beat=False,
                    web=False,
                    broker=False,
                    extra_env={"DJANGO_DEBUG": "false"},
                ) as st:
                    st.run_driver(["bench/recompute.py", f"--build={size}"], timeout=1800)
                    out = st.run_driver(
                        [
                            "bench/changelists.py",
                            "--measure",
                            f"--runs={args.runs}",
                            f"--only={args.only}",
                        ],
                        timeout=1800,
                    )
                    results[config][str(size)] = json.loads(out.strip().splitlines()[-1])
            except Unavailable as exc:
                results[config] = {"skipped": str(exc)}
                break
    print(
        json.dumps(
            {
                "benchmark": "admin_pages_at_scale",
                "target_ms": TARGET_MS,
                "results": results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
