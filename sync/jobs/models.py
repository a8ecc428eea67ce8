"""The Job row: one admin operation run in the background, with its progress and outcome.

A job is started by `sync.jobs.services.job_start`, run by the Celery task
`sync.jobs.tasks.run_job`, and followed live on its admin page. Only the worker writes to a
running job; the admin reads it.
"""

from django.conf import settings
from django.db import models

# The errors kept on the row: the first ones tell the story; `error_count` says how many in all.
MAX_KEPT_ERRORS = 100


class JobKind(models.TextChoices):
    LINK_BY_SKU = "link_by_sku", "Link by SKU"
    LINK_CSV = "link_csv", "Link SKUs from a CSV"
    IMPORT_CATALOGUE = "import_catalogue", "Import the Shopify catalogue"
    UPDATE_QTY = "update_qty", "Update Qty"
    RULE_CHANGE = "rule_change", "Send a profile or Selling List change"
    APPLY_UNMATCHED_ORDERS = "apply_unmatched_orders", "Apply unmatched orders to Shopify"
    RECONCILE = "reconcile", "Reconcile now"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINISHED_STATES = (JobState.DONE, JobState.FAILED)


class Job(models.Model):
    """One run of a long admin operation. `summary` is the result, or the reason it failed."""

    kind = models.CharField(max_length=40, choices=JobKind.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty while the job does not know how much there is."
    )
    params = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    errors = models.JSONField(
        default=list, blank=True, help_text=f"The first {MAX_KEPT_ERRORS} errors."
    )
    error_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs so far: more than one when a vendor asked us to come back."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker running it."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "kind"], name="sync_job_state_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} — {self.get_state_display()}"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES
