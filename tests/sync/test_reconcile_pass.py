"""A reconcile pass: Amazon read back in constant queries per batch, one pass at a time, each
pass recorded with its duration."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sync import reconcile
from sync.clients import factory
from sync.models import ReconcileRun
from sync.reconcile import amazon_quantities_read_back, reconcile_run
from tests.factories import ListingFactory, SellingListFactory, us_marketplace

pytestmark = pytest.mark.django_db


class ReportOnlyAmazon:
    """Amazon as the reconcile reads it: one listings report."""

    def __init__(self, quantities: dict[str, int]):
        self.quantities = quantities
        self.calls = 0

    def __call__(self, account, marketplace_id):
        self.calls += 1
        return self

    def request_listings_report(self):
        return "report-1"

    def get_report(self, report_id):
        return SimpleNamespace(processing_status="DONE", report_document_id="doc-1")

    def iter_listings_report(self, document_id):
        for sku, quantity in self.quantities.items():
            yield SimpleNamespace(sku=sku, quantity=quantity)

    def close(self):
        pass


def listings(count):
    selling_list = SellingListFactory()
    return selling_list, ListingFactory.create_batch(
        count, selling_list=selling_list, computed_quantity=5, amazon_quantity=5
    )


def read_back(selling_list, amazon):
    with factory.substitute(amazon=amazon), CaptureQueriesContext(connection) as ctx:
        result = amazon_quantities_read_back(
            account=selling_list.amazon_account, marketplace_id=us_marketplace().pk
        )
    return result, len(ctx.captured_queries)


def test_read_back_stores_what_amazon_shows_and_counts_drift(monkeypatch):
    selling_list, rows = listings(3)
    amazon = ReportOnlyAmazon({rows[0].sku: 5, rows[1].sku: 2})  # rows[2] is not in the report

    (read, drifted), _ = read_back(selling_list, amazon)

    assert (read, drifted) == (3, 1)
    for row in rows:
        row.refresh_from_db()
    assert [row.amazon_quantity for row in rows] == [5, 2, 5]


def test_read_back_queries_grow_with_batches_not_listings(monkeypatch):
    monkeypatch.setattr(reconcile, "BATCH", 4)
    small_list, small = listings(4)
    large_list, large = listings(16)

    _, small_queries = read_back(small_list, ReportOnlyAmazon({r.sku: 1 for r in small}))
    (read, drifted), large_queries = read_back(
        large_list, ReportOnlyAmazon({r.sku: 1 for r in large})
    )

    assert (read, drifted) == (16, 16)
    # Per batch of 4: one page read and one UPDATE; never one query per listing.
    assert large_queries - small_queries == 3 * 2
    assert large_queries < len(large)


def test_a_pass_is_recorded_with_its_duration_and_the_interval():
    summary = reconcile_run()

    run = ReconcileRun.objects.get()
    assert not run.running and run.finished_at is not None
    assert run.seconds is not None and run.seconds >= 0
    assert run.interval_seconds == 3600
    assert (run.read_back, run.drifted, run.variants) == (0, 0, 0)
    assert not summary.skipped


def test_a_pass_does_nothing_while_the_previous_one_is_still_running():
    ListingFactory()  # an account with a marketplace: a pass would read Amazon back
    ReconcileRun.objects.create(running=True)
    amazon = ReportOnlyAmazon({})

    with factory.substitute(amazon=amazon):
        summary = reconcile_run()

    assert summary.skipped and str(summary) == summary.skipped
    assert amazon.calls == 0
    assert ReconcileRun.objects.count() == 1


def test_a_pass_left_running_by_a_dead_worker_is_closed_and_the_next_one_runs():
    dead = ReconcileRun.objects.create(
        running=True, started_at=timezone.now() - timedelta(seconds=3601)
    )

    summary = reconcile_run()

    dead.refresh_from_db()
    assert not summary.skipped
    assert not dead.running and "Abandoned" in dead.errors
    assert ReconcileRun.objects.filter(running=False, seconds__isnull=False).count() == 1
