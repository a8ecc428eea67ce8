"""The Jobs pages: a read-only list, and a job's page whose progress follows live.

The page polls `<job>/progress/` (JSON, needs view permission on Job) once a second from
`sync/static/sync/job_progress.js` until the job is done or failed; no inline script, so a
Content-Security-Policy can forbid them. Admin actions that start a job end with
`return job_started_response(request, job)`.
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.admin_mixins import ReadOnlyAdminMixin

from .models import Job, JobState


def _may_view_jobs(request: HttpRequest) -> bool:
    codename = get_permission_codename("view", Job._meta)
    return request.user.has_perm(f"{Job._meta.app_label}.{codename}")


def job_started_response(request: HttpRequest, job: Job) -> HttpResponseRedirect:
    """What an admin action or view returns after `job_start`: a message, then the job's page.

    A user who may not view jobs stays where they were, with the message.
    """
    label = job.get_kind_display()
    if _may_view_jobs(request):
        messages.info(request, f"Started “{label}” — follow its progress below.")
        return HttpResponseRedirect(reverse("admin:sync_job_change", args=[job.pk]))
    messages.info(request, f"Started “{label}”: it runs in the background.")
    return HttpResponseRedirect(request.get_full_path())


def jobs_started_response(request: HttpRequest, jobs: list[Job]) -> HttpResponseRedirect:
    """`job_started_response` for an action that started one job per selected row."""
    if len(jobs) == 1:
        return job_started_response(request, jobs[0])
    messages.info(
        request,
        f"Started {len(jobs)} background jobs; each page shows its progress.",
    )
    if _may_view_jobs(request):
        ids = ",".join(str(job.pk) for job in jobs)
        return HttpResponseRedirect(f"{reverse('admin:sync_job_changelist')}?id__in={ids}")
    return HttpResponseRedirect(request.get_full_path())


def _count_text(job: Job) -> str:
    return f"{job.done} / {job.total}" if job.total is not None else f"{job.done} done"


def _duration_text(job: Job) -> str:
    if job.started_at is None:
        return ""
    seconds = int(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
    text = str(timedelta(seconds=seconds)) if seconds >= 60 else f"{seconds} s"
    return text if job.finished_at else f"{text} so far"


def progress_payload(job: Job) -> dict:
    """What the job's page shows, for its first render and for every poll."""
    if job.total is not None:
        bar_max, bar_value = max(job.total, 1), min(job.done, job.total)
        if job.total == 0 and job.state == JobState.DONE:
            bar_value = 1
    elif job.is_finished:
        bar_max, bar_value = 1, int(job.state == JobState.DONE)
    else:
        bar_max = bar_value = None  # how much there is is not known yet: a busy bar
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "state": job.state,
        "state_label": job.get_state_display(),
        "finished": job.is_finished,
        "done": job.done,
        "total": job.total,
        "count_text": _count_text(job),
        "bar_max": bar_max,
        "bar_value": bar_value,
        "summary_label": {JobState.DONE: "Result", JobState.FAILED: "Reason"}.get(job.state, ""),
        "summary": job.summary,
        "errors": job.errors,
        "error_count": job.error_count,
        "duration": _duration_text(job),
    }


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Jobs are written by the worker only; staff follow them here."""

    list_display = ["__str__", "kind", "started_by", "state", "progress", "created_at", "duration"]
    list_filter = ["kind", "state"]
    list_select_related = ["started_by"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "started_by",
        "params",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
    ]
    readonly_fields = fields

    @admin.display(description="progress")
    def progress(self, obj: Job) -> str:
        return _count_text(obj)

    @admin.display(description="duration")
    def duration(self, obj: Job) -> str:
        return _duration_text(obj)

    def get_urls(self):
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_progress",
        )
        return [progress, *super().get_urls()]  # before the catch-all "<object_id>/" redirect

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404("No such job.")
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        return JsonResponse(progress_payload(job))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        if job is not None:
            extra_context = {**(extra_context or {}), "job_progress": progress_payload(job)}
        return super().change_view(request, object_id, form_url, extra_context)
