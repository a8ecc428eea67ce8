"""Background jobs: the request only starts the job; a worker runs it with live progress; the
admin shows done / total, the summary, the errors, and why a job failed."""

import logging
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from sync.clients.errors import RateLimited, TransientError
from sync.jobs import tasks
from sync.jobs.models import MAX_KEPT_ERRORS, Job, JobKind, JobState
from sync.jobs.services import (
    MAX_RETRIES,
    RUN_JOB_TASK,
    STALE_AFTER,
    JobError,
    Progress,
    job_claim,
    job_start,
)
from sync.jobs.tasks import run_job
from tests.factories import UserFactory
from tests.sync.jobs_support import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(monkeypatch):
    """`handler(fn)` makes `fn(job, progress) -> summary` the handler of RECONCILE jobs."""

    def install(fn):
        monkeypatch.setitem(tasks.HANDLERS, JobKind.RECONCILE, fn)
        return fn

    return install


def run_started_job(django_capture_on_commit_callbacks, **params) -> Job:
    """Start a job as a request would, then let the queued task run (eager: in this process)."""
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind=JobKind.RECONCILE, acting_user=None, params=params)
    job.refresh_from_db()
    return job


def job_page(client, job):
    return client.get(reverse("admin:sync_job_change", args=[job.pk]))


def progress_json(client, job):
    response = client.get(reverse("admin:sync_job_progress", args=[job.pk]))
    assert response.status_code == 200
    return response.json()


@pytest.mark.urls("tests.sync.jobs_support")
def test_starting_a_job_answers_at_once_and_a_worker_then_runs_the_slow_handler_to_done(
    admin_client, admin_user, handler, django_capture_on_commit_callbacks
):
    @handler
    def slow(job, progress):
        time.sleep(1.5)
        progress.total(2)
        progress.advance(2)
        return "Did 2 things."

    admin_client.get(reverse("admin:sync_job_changelist"))  # first request: URLs, templates
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = time.monotonic()
        response = admin_client.post("/start-job/")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the request took {elapsed:.2f} s"
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:sync_job_change", args=[job.pk])
    assert (job.state, job.started_by, job.params) == (
        JobState.QUEUED,
        admin_user,
        {"from": "test"},
    )
    page = admin_client.get(response["Location"])
    assert "Started “Reconcile now” — follow its progress below." in page.content.decode()
    assert progress_json(admin_client, job)["state_label"] == "Queued"

    # The worker's turn: the callback queued on commit runs run_job for this job.
    assert len(queued) == 1
    queued[0]()
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.summary) == (JobState.DONE, 2, 2, "Did 2 things.")
    assert job.started_at and job.finished_at and job.attempts == 1


def test_the_row_shows_progress_while_the_handler_runs(
    handler, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Progress, "interval", 0)  # write on every step
    seen = []

    @handler
    def counting(job, progress):
        progress.total(3)
        seen.append(Job.objects.values_list("state", "done", "total").get(pk=job.pk))
        for _ in range(3):
            progress.advance()
            seen.append(Job.objects.values_list("state", "done", "total").get(pk=job.pk))
        return "Counted to 3."

    run_started_job(django_capture_on_commit_callbacks)
    assert seen == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3), ("running", 3, 3)]


def test_progress_on_a_big_job_is_written_at_most_every_interval(django_assert_num_queries):
    job = job_claim(job_id=JobFactory().pk)
    now = [100.0]
    progress = Progress(job, clock=lambda: now[0])
    with django_assert_num_queries(1):
        progress.total(50_000)
    with django_assert_num_queries(0):
        for _ in range(20_000):
            progress.advance()
    now[0] += Progress.interval
    with django_assert_num_queries(1):
        progress.advance()
    job.refresh_from_db()
    assert (job.done, job.total) == (20_001, 50_000)
    assert job.heartbeat_at is not None


def test_the_job_page_and_the_progress_json_show_done_total_summary_and_errors(
    admin_client, handler, django_capture_on_commit_callbacks
):
    @handler
    def linking(job, progress):
        progress.total(4)
        for n in range(4):
            progress.advance()
            if n == 2:
                progress.error("SKU-9: not on Amazon")
        return "Linked 3 listings."

    job = run_started_job(django_capture_on_commit_callbacks)
    data = progress_json(admin_client, job)
    assert data["state"] == "done" and data["finished"] is True
    assert (data["done"], data["total"], data["count_text"]) == (4, 4, "4 / 4")
    assert (data["bar_max"], data["bar_value"]) == (4, 4)
    assert (data["summary_label"], data["summary"]) == ("Result", "Linked 3 listings.")
    assert (data["errors"], data["error_count"]) == (["SKU-9: not on Amazon"], 1)

    page = job_page(admin_client, job).content.decode()
    for text in (
        "Done",
        "4 / 4",
        'max="4" value="4"',
        "Linked 3 listings.",
        "SKU-9: not on Amazon",
    ):
        assert text in page
    assert "sync/job_progress.js" in page
    listing = admin_client.get(reverse("admin:sync_job_changelist"), {"state": "done"})
    assert "4 / 4" in listing.content.decode()


def test_only_the_first_errors_are_kept_and_all_are_counted(
    admin_client, handler, django_capture_on_commit_callbacks
):
    @handler
    def noisy(job, progress):
        for n in range(MAX_KEPT_ERRORS + 50):
            progress.error(f"row {n}: no such SKU")
        return "Nothing linked."

    job = run_started_job(django_capture_on_commit_callbacks)
    assert len(job.errors) == MAX_KEPT_ERRORS and job.error_count == MAX_KEPT_ERRORS + 50
    assert job.errors[0] == "row 0: no such SKU"
    page = job_page(admin_client, job).content.decode()
    assert f"(the first {MAX_KEPT_ERRORS} are listed)" in page


def test_a_handler_that_stops_shows_its_reason_on_the_job_page(
    admin_client, handler, django_capture_on_commit_callbacks
):
    @handler
    def refusing(job, progress):
        progress.total(10)
        progress.advance(3)
        raise JobError("The CSV has no shopify_sku column.")

    job = run_started_job(django_capture_on_commit_callbacks)
    assert (job.state, job.summary, job.done) == (
        JobState.FAILED,
        "The CSV has no shopify_sku column.",
        3,
    )
    data = progress_json(admin_client, job)
    assert (data["state_label"], data["summary_label"]) == ("Failed", "Reason")
    assert "The CSV has no shopify_sku column." in job_page(admin_client, job).content.decode()


def test_an_unexpected_error_fails_the_job_without_a_traceback_in_the_admin_and_is_logged(
    admin_client, handler, caplog, django_capture_on_commit_callbacks
):
    @handler
    def broken(job, progress):
        raise ValueError("internal detail 0xdeadbeef")

    with caplog.at_level(logging.ERROR, logger="sync.jobs.tasks"):
        job = run_started_job(django_capture_on_commit_callbacks)
    assert job.state == JobState.FAILED
    assert job.summary == (
        "Stopped by an unexpected error (ValueError). The details are in the worker's log."
    )
    page = job_page(admin_client, job).content.decode()
    assert "Traceback" not in page and "0xdeadbeef" not in page
    assert any(
        record.exc_info and "0xdeadbeef" in str(record.exc_info[1]) for record in caplog.records
    )


def test_a_rate_limited_job_waits_the_time_amazon_asks_then_runs_again_to_done(
    handler, monkeypatch, django_capture_on_commit_callbacks
):
    calls = []

    @handler
    def throttled_once(job, progress):
        calls.append(job.attempts)
        if len(calls) == 1:
            raise RateLimited("Amazon throttled the listings report.", retry_after=30)
        return "Linked after waiting."

    waits = []
    real_wait = tasks.job_wait

    def spy_wait(**kwargs):
        job = real_wait(**kwargs)
        waits.append((kwargs["countdown"], job.state, job.summary))
        return job

    monkeypatch.setattr(tasks, "job_wait", spy_wait)
    job = run_started_job(django_capture_on_commit_callbacks)

    assert calls == [1, 2]
    [(countdown, state, summary)] = waits
    assert countdown == 30 and state == JobState.QUEUED
    assert summary.startswith("Waiting: Amazon throttled the listings report. Trying again at ")
    assert (job.state, job.summary, job.attempts) == (JobState.DONE, "Linked after waiting.", 2)


def test_a_vendor_that_keeps_failing_fails_the_job_after_the_last_retry(
    handler, django_capture_on_commit_callbacks
):
    @handler
    def down(job, progress):
        raise TransientError("Shopify answered 503.")

    job = run_started_job(django_capture_on_commit_callbacks)
    assert job.state == JobState.FAILED
    assert job.attempts == MAX_RETRIES + 1
    assert job.summary == f"Gave up after {MAX_RETRIES + 1} tries: Shopify answered 503."


def test_a_kind_without_a_handler_fails_with_a_clear_reason(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delitem(tasks.HANDLERS, JobKind.RECONCILE)
    job = run_started_job(django_capture_on_commit_callbacks)
    assert job.state == JobState.FAILED
    assert job.summary == "“Reconcile now” cannot run as a job yet."


def test_a_redelivered_message_does_not_run_a_finished_or_live_job_again(handler, monkeypatch):
    calls, requeued = [], []
    handler(lambda job, progress: calls.append(job.pk) or "ran")
    # As a worker would: the look-again is queued for later (here: recorded, not run at once).
    monkeypatch.setattr(run_job, "apply_async", lambda **kwargs: requeued.append(kwargs))
    finished = JobFactory(state=JobState.DONE, summary="first run")
    live = JobFactory(state=JobState.RUNNING, heartbeat_at=timezone.now())
    dead = JobFactory(state=JobState.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1))
    for job in (finished, live, dead):
        run_job.apply(args=[job.pk])
    assert calls == [dead.pk]
    finished.refresh_from_db()
    assert finished.summary == "first run"
    # The live job is looked at again once its heartbeat could have stopped.
    [again] = requeued
    assert STALE_AFTER.total_seconds() - 60 < again["countdown"] <= STALE_AFTER.total_seconds() + 1
    live.refresh_from_db()
    assert live.state == JobState.RUNNING and live.attempts == 0


def test_the_progress_json_needs_view_permission_on_jobs(client):
    job = JobFactory()
    url = reverse("admin:sync_job_progress", args=[job.pk])
    assert client.get(url).status_code == 302  # not logged in: to the login page

    staff = UserFactory()
    client.force_login(staff)
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:sync_job_change", args=[job.pk])).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_job"))
    staff = type(staff).objects.get(pk=staff.pk)  # drop the cached permissions
    client.force_login(staff)
    assert client.get(url).json()["state"] == "queued"


def test_jobs_cannot_be_added_edited_or_deleted_in_the_admin(admin_client):
    job = JobFactory()
    assert admin_client.get(reverse("admin:sync_job_add")).status_code == 403
    assert admin_client.get(reverse("admin:sync_job_delete", args=[job.pk])).status_code == 403
    page = admin_client.post(reverse("admin:sync_job_change", args=[job.pk]), {"state": "done"})
    assert page.status_code == 403
    job.refresh_from_db()
    assert job.state == JobState.QUEUED


def test_reconcile_now_runs_as_a_job_and_reports_what_it_read(django_capture_on_commit_callbacks):
    job = run_started_job(django_capture_on_commit_callbacks)
    assert job.state == JobState.DONE
    assert job.summary == (
        "Read back 0 Amazon quantities (0 differed from what we sent), re-read 0 Shopify variants."
    )


def test_job_start_queues_run_job_by_its_registered_name():
    assert run_job.name == RUN_JOB_TASK
