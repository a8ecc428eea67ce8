"""Confirmation pages shared by the list and listing admins: Update Qty and rule changes."""

from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse

from sync.jobs.admin import job_started_response
from sync.jobs.models import JobKind
from sync.jobs.services import job_start
from sync.selectors import update_qty_overview

# Rows shown on the Update Qty confirmation page; the rest are counted.
PREVIEW_ROWS = 200


def update_qty_action(modeladmin, request, queryset, listing_ids, *, scope: dict):
    """Confirm (before → after), then Update Qty as a background job.

    `scope` says which listings the job takes: `{"listing_ids": [...]}` or
    `{"selling_list_ids": [...]}` (read again when the job runs).
    """
    if request.POST.get("post") == "yes":
        job = job_start(kind=JobKind.UPDATE_QTY, acting_user=request.user, params=scope)
        return job_started_response(request, job)
    # The rows shown and counts from SQL: a Selling List of 100,000 in a constant time.
    overview = update_qty_overview(listing_ids, rows=PREVIEW_ROWS)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Update Qty: send these quantities to Amazon?",
        "opts": modeladmin.model._meta,
        "rows": overview.rows,
        "hidden_rows": max(overview.total - len(overview.rows), 0),
        "total": overview.total,
        "to_send": overview.to_send,
        "sync_off_accounts": overview.sync_off_accounts,
        "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        "action": request.POST.get("action", "update_qty"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "selling_lists/update_qty_confirmation.html", context)


def rule_change_url(**scope) -> str:
    """The before → after page of listings whose rule just changed (profile or Selling List)."""
    key, value = next(iter(scope.items()))
    return f"{reverse('admin:selling_lists_listing_rule_change')}?{key}={value}"
