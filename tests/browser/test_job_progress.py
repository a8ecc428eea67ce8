"""A job's admin page follows the job live, under a policy that forbids inline scripts."""

import pytest
from playwright.sync_api import expect

from sync.jobs.models import JobState
from sync.jobs.services import Progress, job_claim, job_finish
from tests.sync.jobs_support import JobFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# expect() retries until the page shows it (null-safe, no sleeps); generous under CPU load.
TIMEOUT_MS = 30_000
STRICT_CSP = "script-src 'self'; style-src 'self'; object-src 'none'"


def with_strict_csp(route):
    response = route.fetch()
    route.fulfill(
        response=response, headers={**response.headers, "content-security-policy": STRICT_CSP}
    )


def test_the_job_page_moves_the_bar_to_done_as_the_worker_reports_progress(admin_page, live_server):
    job = job_claim(job_id=JobFactory().pk)
    progress = Progress(job)  # the test plays the worker
    progress.total(10)
    progress.advance(3)
    progress.flush()
    page = admin_page
    page.route("**/admin/sync/job/*/change/", with_strict_csp)
    page.goto(f"{live_server.url}/admin/sync/job/{job.pk}/change/")
    box = page.locator("#job-progress")
    expect(box).to_have_attribute("data-state", "running", timeout=TIMEOUT_MS)
    expect(box.locator(".job-count")).to_have_text("3 / 10", timeout=TIMEOUT_MS)

    progress.advance(4)
    progress.flush()
    # Polled by job_progress.js: the page is not reloaded.
    expect(box.locator(".job-count")).to_have_text("7 / 10", timeout=TIMEOUT_MS)
    expect(box.locator(".job-bar")).to_have_js_property("value", 7, timeout=TIMEOUT_MS)

    progress.error("SKU-9: not on Amazon")
    progress.advance(3)
    job_finish(job=job, progress=progress, summary="Linked 9 listings.")
    expect(box).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(box.locator(".job-state")).to_have_text("Done")
    expect(box.locator(".job-count")).to_have_text("10 / 10")
    expect(box.locator(".job-bar")).to_have_js_property("value", 10)
    expect(box.locator(".job-summary")).to_have_text("Linked 9 listings.")
    expect(box.locator(".job-error-list li")).to_have_text(["SKU-9: not on Amazon"])
    job.refresh_from_db()
    assert job.state == JobState.DONE
