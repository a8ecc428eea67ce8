"""Job handlers: `handler(job, progress) -> summary`. Each calls the services of its flow.

A handler reads what it needs from `job.params` (ids and plain values), reports through
`progress`, returns one line for the merchant, and raises `JobError` with a readable reason
to stop. Vendor `TransientError`s propagate: the task retries the whole handler later, so a
handler must be safe to run again from the start. Register it in `sync.jobs.tasks.HANDLERS`.
"""

import dataclasses

from sync.reconcile import reconcile_all

from .models import Job
from .services import Progress


def reconcile(job: Job, progress: Progress) -> str:
    """Reconcile now: read Amazon back for every account, re-read every Shopify store."""
    progress.total(None)  # reconcile_all reports no steps: the admin shows a busy bar
    summary = reconcile_all()
    for message in summary.errors:
        progress.error(message)
    text = str(dataclasses.replace(summary, errors=[]))  # the errors are listed on their own
    return f"{text[:1].upper()}{text[1:]}."
