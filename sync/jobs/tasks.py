"""The one Celery task of the jobs: `run_job(job_id)` runs the job's handler from HANDLERS.

Registered in every process because `sync.tasks` imports this module (Celery autodiscovers
`sync.tasks`, and `SyncConfig.ready()` imports it in the web process too).
Retries: a vendor's TransientError or RateLimited queues the job again with a countdown;
anything else fails the job with a readable reason and logs the traceback.
"""

import logging
from collections.abc import Callable

from celery import shared_task

from sync.clients.errors import TransientError

from . import handlers
from .models import Job, JobKind
from .services import (
    MAX_RETRIES,
    RUN_JOB_TASK,
    JobAlive,
    Progress,
    failure_reason,
    job_claim,
    job_fail,
    job_finish,
    job_wait,
    retry_countdown,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Job, Progress], str]

# One handler per kind; a kind missing here fails with a clear reason. To add one: write
# `def my_handler(job, progress) -> str` (see sync/jobs/handlers.py) and add it to this dict.
HANDLERS: dict[str, Handler] = {
    JobKind.LINK_BY_SKU: handlers.link_by_sku,
    JobKind.LINK_CSV: handlers.link_csv,
    JobKind.IMPORT_CATALOGUE: handlers.import_catalogue,
    JobKind.UPDATE_QTY: handlers.update_qty,
    JobKind.RULE_CHANGE: handlers.rule_change,
    JobKind.APPLY_UNMATCHED_ORDERS: handlers.apply_unmatched_orders,
    JobKind.RECONCILE: handlers.reconcile,
}


@shared_task(bind=True, name=RUN_JOB_TASK, ignore_result=True, max_retries=MAX_RETRIES)
def run_job(self, job_id: int) -> None:
    """Run one job's handler; idempotent: a finished job is left be, and a job another worker
    runs is looked at again once its heartbeat could have stopped (the worker died)."""
    try:
        job = job_claim(job_id=job_id)
    except JobAlive as alive:
        # A fresh message, not a retry: the look-again must not use up the vendor retries.
        self.apply_async(args=(job_id,), countdown=alive.retry_in)
        return
    if job is None:
        return
    handler = HANDLERS.get(job.kind)
    if handler is None:
        job_fail(job=job, reason=f"“{job.get_kind_display()}” cannot run as a job yet.")
        return
    progress = Progress(job)
    try:
        summary = handler(job, progress)
    except TransientError as error:
        if self.request.retries >= MAX_RETRIES:
            job_fail(job=job, progress=progress, reason=failure_reason(error))
            return
        countdown = retry_countdown(error, self.request.retries)
        job_wait(job=job, progress=progress, reason=error.message, countdown=countdown)
        raise self.retry(exc=error, countdown=countdown) from error
    except Exception as error:  # a job must end; the worker's log keeps the traceback
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        job_fail(job=job, progress=progress, reason=failure_reason(error))
        return
    job_finish(job=job, progress=progress, summary=summary)
