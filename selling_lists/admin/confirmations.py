"""Confirmation pages shared by the list and listing admins: Update Qty and rule changes."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import ngettext

from sync.outbox.actions import listings_update_qty
from sync.selectors import update_qty_overview

# Rows shown on the Update Qty confirmation page; the rest are counted.
PREVIEW_ROWS = 200


def update_qty_action(modeladmin, request, queryset, listing_ids):
    """Confirm (before → after), then queue the pushes and say what happened."""
    if request.POST.get("post") == "yes":
        summary = listings_update_qty(listing_ids=list(listing_ids), acting_user=request.user)
        if summary.queued:
            modeladmin.message_user(
                request,
                ngettext(
                    "%(count)d listing is Pending Qty Update: its quantity is on its way to "
                    "Amazon.",
                    "%(count)d listings are Pending Qty Update: their quantities are on their "
                    "way to Amazon.",
                    summary.queued,
                )
                % {"count": summary.queued},
                messages.SUCCESS,
            )
        if summary.sync_off_accounts:
            modeladmin.message_user(
                request,
                f"Nothing was sent for {', '.join(summary.sync_off_accounts)}: “Keep "
                "inventory in sync from Shopify to Amazon” is off for "
                + ngettext("this account", "these accounts", len(summary.sync_off_accounts))
                + ". Switch it on in the Amazon account first.",
                messages.ERROR,
            )
        skipped = [
            (summary.paused, "paused (Sync off)"),
            (summary.fba, "FBA — managed by Amazon"),
            (summary.stock_missing, "stock missing, Amazon left as it is"),
        ]
        for count, why in skipped:
            if count:
                modeladmin.message_user(
                    request,
                    ngettext(
                        "%(count)d listing not sent: %(why)s.",
                        "%(count)d listings not sent: %(why)s.",
                        count,
                    )
                    % {"count": count, "why": why},
                    messages.WARNING,
                )
        return None
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
