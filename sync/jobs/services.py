"""Writes to Job rows: start a job, report its progress, finish it, fail it, make it wait.

The request only calls `job_start`; everything else runs in the worker (`sync.jobs.tasks`).
A handler receives a `Progress` and reports through it; `Progress` writes to the row at most
every `Progress.interval` seconds, so a job over 500k items costs a few hundred updates, not
500k. Writes are `UPDATE`s of the progress columns only, so they never clobber other fields.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sync.clients.errors import MarketplaceError, RateLimited, TransientError

from .. import queues
from .models import MAX_KEPT_ERRORS, Job, JobKind, JobState

logger = logging.getLogger(__name__)

# The task's registered name. Services queue it by name rather than importing sync.jobs.tasks,
# which imports this module: tasks sit above services (docs/architecture.md, "Jobs").
RUN_JOB_TASK = "sync.run_job"

# A running job whose heartbeat is older than this is taken as dead: a redelivered message may
# run it again. Handlers call Progress at least this often (a single vendor call is bounded by
# the clients' timeouts and report polls, far below it).
STALE_AFTER = timedelta(minutes=10)

# A job gives up on a vendor that keeps failing after this many retries (a merchant is waiting).
MAX_RETRIES = 8
MAX_RETRY_COUNTDOWN = 300.0


class JobError(Exception):
    """Raise from a handler to fail the job with a message written for the merchant."""


class JobAlive(Exception):
    """Another worker runs this job (its heartbeat is recent): look again in `retry_in` s."""

    def __init__(self, retry_in: float):
        super().__init__(f"job alive elsewhere; look again in {retry_in:.0f} s")
        self.retry_in = retry_in


class Progress:
    """What a handler reports: `total(n)`, `advance(n=1)`, `error(message)`.

    Counts are kept in memory and written at most every `interval` seconds (and when the job
    ends), with a heartbeat. Errors are kept up to MAX_KEPT_ERRORS, and all are counted.
    """

    interval = 0.5

    def __init__(self, job: Job, *, clock: Callable[[], float] = time.monotonic):
        self.job = job
        self._clock = clock
        self._done = job.done
        self._total = job.total
        self._errors = list(job.errors)
        self._error_count = job.error_count
        self._dirty = False
        self._written_at = clock()

    @property
    def done(self) -> int:
        return self._done

    def total(self, n: int | None) -> None:
        """How many items the job will go through (None: not known yet). Written at once."""
        self._total = n
        self.flush()

    def advance(self, n: int = 1) -> None:
        self._done += n
        self._dirty = True
        self._maybe_flush()

    def error(self, message: str) -> None:
        """Record one item's error; the job goes on. Say which item and why, in plain words."""
        self._error_count += 1
        if len(self._errors) < MAX_KEPT_ERRORS:
            self._errors.append(str(message))
        self._dirty = True
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._clock() - self._written_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write the counts and a heartbeat now."""
        now = timezone.now()
        fields = {
            "done": self._done,
            "total": self._total,
            "errors": self._errors,
            "error_count": self._error_count,
            "heartbeat_at": now,
        }
        Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)
        self._dirty = False
        self._written_at = self._clock()


def job_start(*, kind: JobKind | str, acting_user: AbstractBaseUser | None, params: dict) -> Job:
    """Create a queued job and have a worker run it once the current transaction commits.

    Call it from an admin action or view, then return `job_started_response(request, job)`
    (sync.jobs.admin). `params` must be JSON: ids and plain values, never model instances.
    """
    job = Job.objects.create(
        kind=JobKind(kind),
        started_by=acting_user if acting_user and acting_user.is_authenticated else None,
        params=params,
    )
    queues.enqueue_on_commit(RUN_JOB_TASK, job.pk)
    return job


def job_claim(*, job_id: int) -> Job | None:
    """Mark the job running for this attempt; None when it is finished or gone.

    A queued job is claimed; so is a running one whose heartbeat stopped (its worker died and
    the broker redelivered the message). A running one with a recent heartbeat raises JobAlive.
    Each attempt starts its counts afresh: the handler runs again from the beginning, and
    handlers are idempotent.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        alive = job.heartbeat_at is not None and job.heartbeat_at > now - STALE_AFTER
        if job.state == JobState.RUNNING and alive:
            raise JobAlive((job.heartbeat_at + STALE_AFTER - now).total_seconds() + 1)
        job.state = JobState.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.attempts += 1
        job.done, job.errors, job.error_count, job.summary = 0, [], 0, ""
        job.save(
            update_fields=[
                "state",
                "started_at",
                "heartbeat_at",
                "attempts",
                "done",
                "errors",
                "error_count",
                "summary",
            ]
        )
    return job


def _end(job: Job, progress: Progress | None, *, state: JobState, summary: str) -> Job:
    if progress is not None:
        progress.flush()
    job.state = state
    job.summary = summary
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "summary", "finished_at"])
    return job


def job_finish(*, job: Job, progress: Progress | None = None, summary: str) -> Job:
    """The handler is through: the job is done, `summary` says what it did."""
    return _end(job, progress, state=JobState.DONE, summary=summary)


def job_fail(*, job: Job, progress: Progress | None = None, reason: str) -> Job:
    """The job stopped: `reason` is shown to the merchant as it is (no traceback)."""
    return _end(job, progress, state=JobState.FAILED, summary=reason)


def job_wait(*, job: Job, progress: Progress | None, reason: str, countdown: float) -> Job:
    """A vendor asked us to come back later: the job is queued again, and says why and when."""
    if progress is not None:
        progress.flush()
    at = timezone.localtime(timezone.now() + timedelta(seconds=countdown))
    job.state = JobState.QUEUED
    job.summary = f"Waiting: {reason} Trying again at {at:%H:%M:%S} (try {job.attempts + 1})."
    job.save(update_fields=["state", "summary"])
    return job


def retry_countdown(error: TransientError, retries: int) -> float:
    """Seconds before the next try: what a throttling vendor asks, else exponential back-off."""
    if isinstance(error, RateLimited):
        return min(max(error.retry_after, 1.0), MAX_RETRY_COUNTDOWN)
    return min(2.0 ** (retries + 1), MAX_RETRY_COUNTDOWN)


def failure_reason(error: Exception) -> str:
    """The merchant-readable reason for an exception that stopped a job."""
    if isinstance(error, JobError):
        return str(error)
    if isinstance(error, TransientError):
        return f"Gave up after {MAX_RETRIES + 1} tries: {error.message}"
    if isinstance(error, MarketplaceError):
        return error.message
    return (
        f"Stopped by an unexpected error ({type(error).__name__}). "
        "The details are in the worker's log."
    )
