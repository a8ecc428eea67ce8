"""Helpers for the jobs' tests: a Job factory, and a URLconf with a view that starts a job the
way an admin action does (`job_start`, then `job_started_response`)."""

import factory
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import path
from django.views.decorators.http import require_POST

from config.urls import urlpatterns as project_urlpatterns
from sync.jobs.admin import job_started_response
from sync.jobs.models import Job, JobKind, JobState
from sync.jobs.services import job_start


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = JobKind.RECONCILE
    state = JobState.QUEUED


@require_POST
@staff_member_required
def start_job(request):
    """Stands for any admin action that starts a job."""
    job = job_start(kind=JobKind.RECONCILE, acting_user=request.user, params={"from": "test"})
    return job_started_response(request, job)


urlpatterns = [path("start-job/", start_job), *project_urlpatterns]
