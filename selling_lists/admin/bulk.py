"""Bulk actions on listings, each through a before → after confirmation page: move to another
Selling List, set an own rule, pause, resume. The writes are sync/outbox/bulk.py's."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import ngettext

from profiles.models import QtyMode, validate_mode_quantity
from sync.outbox.bulk import listings_move, listings_set_paused, listings_set_rule
from sync.outbox.results import compute_results

from ..models import Listing, SellingList
from ..selectors import listings_with_stock
from .confirmations import PREVIEW_ROWS


class MoveForm(forms.Form):
    target = forms.ModelChoiceField(
        SellingList.objects.select_related("amazon_account", "marketplace"),
        label="Move to the Selling List",
    )

    def __init__(self, *args, listings, **kwargs):
        super().__init__(*args, **kwargs)
        pairs = set(listings.values_list("amazon_account_id", "marketplace_id").distinct())
        accounts = {a for a, _ in pairs}
        markets = {m for _, m in pairs}
        # Only lists of the same account and marketplace: the Amazon listing must stay the same.
        self.fields["target"].queryset = self.fields["target"].queryset.filter(
            amazon_account__in=accounts, marketplace__in=markets
        )

    def apply(self, row):
        row.selling_list = self.cleaned_data["target"]


class RuleForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("", "None — use the Selling List's profile"), *QtyMode.choices],
        required=False,
        label="Own Item Qty mode",
    )
    quantity = forms.IntegerField(min_value=0, required=False, label="Own N")

    def __init__(self, *args, listings=None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode"):
            try:
                validate_mode_quantity(cleaned["mode"], cleaned.get("quantity"))
            except forms.ValidationError as error:
                self.add_error("quantity", error.messages[0] if error.messages else error)
        return cleaned

    def apply(self, row):
        row.override_mode = self.cleaned_data["mode"]
        row.override_quantity = self.cleaned_data.get("quantity") if row.override_mode else None


def _rows(listing_ids, form):
    """(listing, before, after) for the first rows: the Result now and with the change."""
    listings = list(
        listings_with_stock(Listing.objects.filter(pk__in=listing_ids)).order_by("sku")[
            :PREVIEW_ROWS
        ]
    )
    before = {pk: (rule, result) for pk, (rule, result) in compute_results(listings).items()}
    shown = {pk: _describe(row) for pk, row in ((row.pk, row) for row in listings)}
    if form is None or not form.is_valid():
        return [(row, shown[row.pk], before[row.pk][1], None, None) for row in listings]
    for row in listings:
        form.apply(row)
    after = compute_results(listings)
    return [
        (row, shown[row.pk], before[row.pk][1], _describe(row), after[row.pk][1])
        for row in listings
    ]


def _describe(row) -> str:
    if row.override_mode:
        own = QtyMode(row.override_mode).label.split(" / ")[0]
        return f"{row.selling_list} · own: {own}" + (
            f" {row.override_quantity}" if row.override_quantity is not None else ""
        )
    return f"{row.selling_list} · {row.selling_list.profile}"


def _confirm(modeladmin, request, queryset, *, form_class, title, apply):
    ids = list(queryset.values_list("pk", flat=True))
    bound = "preview" in request.POST or request.POST.get("post") == "yes"
    form = form_class(request.POST if bound else None, listings=queryset, prefix="bulk")
    if request.POST.get("post") == "yes" and form.is_valid():
        summary = apply(ids, form.cleaned_data)
        modeladmin.message_user(
            request,
            _changed_and_queued(summary.changed, "changed", summary.queued),
            messages.SUCCESS,
        )
        if summary.refused:
            modeladmin.message_user(
                request,
                ngettext(
                    "%(n)d listing stays: it sells in another Amazon account or marketplace.",
                    "%(n)d listings stay: they sell in another Amazon account or marketplace.",
                    summary.refused,
                )
                % {"n": summary.refused},
                messages.WARNING,
            )
        return None
    return _page(
        modeladmin, request, queryset, ids, title, form, _rows(ids, form if bound else None)
    )


def _page(modeladmin, request, queryset, ids, title, form, rows):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "rows": rows,
        "total": len(ids),
        "hidden_rows": max(len(ids) - PREVIEW_ROWS, 0),
        "selected_ids": [str(pk) for pk in ids],
        "select_across": request.POST.get("select_across", "0"),
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "ready": form is None or form.is_bound and form.is_valid(),
    }
    return TemplateResponse(request, "selling_lists/bulk_confirmation.html", context)


@admin.action(description="Move to another Selling List…", permissions=["change"])
def move_to_selling_list(modeladmin, request, queryset):
    return _confirm(
        modeladmin,
        request,
        queryset,
        form_class=MoveForm,
        title="Move listings to another Selling List",
        apply=lambda ids, data: listings_move(
            listing_ids=ids, selling_list=data["target"], acting_user=request.user
        ),
    )


@admin.action(description="Set an own rule…", permissions=["change"])
def set_own_rule(modeladmin, request, queryset):
    return _confirm(
        modeladmin,
        request,
        queryset,
        form_class=RuleForm,
        title="Set the listings' own rule",
        apply=lambda ids, data: listings_set_rule(
            listing_ids=ids,
            mode=data["mode"],
            quantity=data.get("quantity"),
            acting_user=request.user,
        ),
    )


def _pause_action(paused: bool):
    verb = "Pause" if paused else "Resume"

    def action(modeladmin, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if request.POST.get("post") == "yes":
            summary = listings_set_paused(listing_ids=ids, paused=paused, acting_user=request.user)
            modeladmin.message_user(
                request,
                _changed_and_queued(summary.changed, f"{verb.lower()}d", summary.queued),
                messages.SUCCESS,
            )
            return None
        rows = [
            (
                row,
                "Paused" if row.paused else "Syncing",
                result,
                "Paused" if paused else "Syncing",
                None if paused else result,
            )
            for row, _, result, _, _ in _rows(ids, None)
        ]
        return _page(
            modeladmin, request, queryset, ids, f"{verb} sync of these listings", None, rows
        )

    action.__name__ = f"{verb.lower()}_sync"
    return admin.action(description=f"{verb} sync", permissions=["change"])(action)


pause_sync = _pause_action(True)
resume_sync = _pause_action(False)


def _changed_and_queued(changed: int, done: str, queued: int) -> str:
    """ "1 listing paused, 3 quantities queued for Amazon.": each count with its own plural."""
    listings = ngettext("%(n)d listing", "%(n)d listings", changed) % {"n": changed}
    quantities = ngettext(
        "%(n)d quantity queued for Amazon", "%(n)d quantities queued for Amazon", queued
    ) % {"n": queued}
    return f"{listings} {done}, {quantities}."
