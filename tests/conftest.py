import time

import pytest
from celery import current_app
from django.urls import reverse

from accounts.marketplaces import MARKETPLACES
from sync.jobs.models import Job, JobState
from sync.jobs.services import RUN_JOB_TASK
from tests.factories import AdminUserFactory
from tests.sandbox_world import sandbox_world  # noqa: F401  (shared by end-to-end tests)


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def reference_data(request):
    """Bring back the data migrations' rows after a transactional test's flush.

    Transactional tests (live_server, real workers) empty every table when they end; the
    marketplaces and the default profile must be there for the next one.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and marker.kwargs.get("transaction"))
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from accounts.models import Marketplace
    from profiles.models import GlobalProfile

    Marketplace.objects.bulk_create(
        [
            Marketplace(id=m.id, country_code=m.country_code, country=m.country, region=m.region)
            for m in MARKETPLACES
        ],
        ignore_conflicts=True,
    )
    if not GlobalProfile.objects.filter(is_default=True).exists():
        GlobalProfile.objects.create(name="Default — Shopify stock", is_default=True)


@pytest.fixture
def run_job_request(django_capture_on_commit_callbacks, monkeypatch):
    """`run_job_request(send)`: make an admin request that starts a background job, check that
    it answered in under a second having only queued the job, then run the job as a worker
    would. Returns (response, job) with the job as it ended.

    The broker is replaced by a list for the request (the worker tests use a real one), so the
    job cannot run inside the request, whether or not the test runs in a transaction.
    """
    task = current_app.tasks[RUN_JOB_TASK]
    sent: list = []
    monkeypatch.setattr(
        task, "apply_async", lambda args=None, kwargs=None, **opts: sent.append(args)
    )

    def run(send):
        with django_capture_on_commit_callbacks(execute=True):
            started = time.monotonic()
            response = send()
            elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"the request took {elapsed:.2f} s"
        job = Job.objects.latest("pk")
        assert job.state == JobState.QUEUED, "the request must not do the job's work"
        assert sent == [(job.pk,)], "the request queues the job for a worker"
        task.apply(args=(job.pk,))  # the worker
        job.refresh_from_db()
        return response, job

    return run


def job_page_text(client, job) -> str:
    """What the job's admin page says (summary, errors) as the merchant reads it."""
    response = client.get(reverse("admin:sync_job_change", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()
