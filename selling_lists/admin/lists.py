"""Admin of Selling Lists: linking, CSV links, Update Qty on a whole list, pausing."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from sync.jobs.admin import job_started_response, jobs_started_response
from sync.jobs.models import JobKind
from sync.jobs.services import job_start
from sync.linking import MAX_CSV_BYTES, parse_link_csv
from sync.outbox.actions import rule_change_hold_soon, selling_list_set_paused

from ..models import Listing, SellingList
from .confirmations import rule_change_url, update_qty_action

# Errors listed on the page; the rest are in the downloadable report.
SHOWN_ERRORS = 20


def _errors_key(pk: int) -> str:
    return f"link_csv_errors_{pk}"


def _read_upload(upload) -> tuple[dict[str, str], list[str]]:
    """The pairs of an uploaded CSV, or why it cannot be used."""
    if upload is None:
        return {}, ["Choose a CSV file."]
    if upload.size > MAX_CSV_BYTES:
        return {}, [f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB: split it."]
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, ["The file is not UTF-8 text."]
    if not text.strip():
        return {}, ["The file is empty."]
    return parse_link_csv(text)


@admin.register(SellingList)
class SellingListAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "amazon_account",
        "marketplace",
        "shopify_store",
        "profile",
        "paused",
        "listing_count",
        "csv_link",
    ]
    list_filter = [
        "amazon_account",
        ("marketplace", admin.RelatedOnlyFieldListFilter),
        "shopify_store",
        "profile",
        "paused",
    ]
    search_fields = ["name"]
    autocomplete_fields = ["amazon_account", "shopify_store", "profile"]
    list_select_related = ["amazon_account", "marketplace", "shopify_store", "profile"]
    readonly_fields = ["listings_link", "created_at", "updated_at"]
    actions = ["update_qty", "link_by_sku"]

    @admin.action(description="Link by SKU (Shopify SKU = Amazon SKU)", permissions=["change"])
    def link_by_sku(self, request, queryset):
        """A job per list: reading Amazon's listings report takes a while."""
        jobs = [
            job_start(
                kind=JobKind.LINK_BY_SKU,
                acting_user=request.user,
                params={"selling_list_id": selling_list.pk},
            )
            for selling_list in queryset
        ]
        return jobs_started_response(request, jobs)

    def get_queryset(self, request):
        # A count per row shown (an index-only scan), not a GROUP BY over every listing: the
        # actions' and the marketplace filter's queries leave it out (docs/BENCHMARKS.md).
        listings = (
            Listing.objects.filter(selling_list=OuterRef("pk"))
            .order_by()
            .values("selling_list")
            .annotate(n=Count("pk"))
            .values("n")
        )
        count = Coalesce(Subquery(listings, output_field=IntegerField()), 0)
        return super().get_queryset(request).annotate(_listings=count)

    @admin.action(
        description="Update Qty on Amazon (all listings of the list)", permissions=["change"]
    )
    def update_qty(self, request, queryset):
        ids = Listing.objects.filter(selling_list__in=queryset).values_list("pk", flat=True)
        scope = {"selling_list_ids": list(queryset.values_list("pk", flat=True))}
        return update_qty_action(self, request, queryset, ids, scope=scope)

    @admin.display(description="listings", ordering="_listings")
    def listing_count(self, obj):
        return format_html('<a href="{}">{}</a>', _listings_url(obj), obj._listings)

    @admin.display(description="listings")
    def listings_link(self, obj):
        if obj.pk is None:
            return "—"
        count = obj.listings.count()
        label = ngettext("%(n)d listing", "%(n)d listings", count) % {"n": count}
        return format_html('<a href="{}">{}</a>', _listings_url(obj), label)

    def get_urls(self):
        view = self.admin_site.admin_view(self.link_csv_view)
        errors = self.admin_site.admin_view(self.link_csv_errors_view)
        return [
            path("<int:pk>/link-csv/", view, name="selling_lists_sellinglist_link_csv"),
            path(
                "<int:pk>/link-csv/errors.csv",
                errors,
                name="selling_lists_sellinglist_link_csv_errors",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="links")
    def csv_link(self, obj):
        url = reverse("admin:selling_lists_sellinglist_link_csv", args=[obj.pk])
        return format_html('<a href="{}">Link SKUs from a CSV</a>', url)

    def link_csv_view(self, request, pk):
        """Link Shopify SKUs to other Amazon SKUs from an uploaded `shopify_sku,amazon_sku` CSV.

        The file is checked here (bounded: size, lines, SKU length); the linking, which reads
        Amazon's listings report, is a background job.
        """
        selling_list = get_object_or_404(SellingList, pk=pk)
        if not self.has_change_permission(request, selling_list):
            raise PermissionDenied
        errors: list[str] = []
        if request.method == "POST":
            pairs, errors = _read_upload(request.FILES.get("file"))
            request.session[_errors_key(pk)] = errors
            if pairs and not errors:
                job = job_start(
                    kind=JobKind.LINK_CSV,
                    acting_user=request.user,
                    params={"selling_list_id": pk, "pairs": pairs},
                )
                return job_started_response(request, job)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Link SKUs from a CSV — {selling_list}",
            "opts": self.model._meta,
            "selling_list": selling_list,
            "errors": errors[:SHOWN_ERRORS],
            "more_errors": max(len(errors) - SHOWN_ERRORS, 0),
            "errors_url": reverse("admin:selling_lists_sellinglist_link_csv_errors", args=[pk]),
            "max_mb": MAX_CSV_BYTES // (1024 * 1024),
        }
        # A refused file is the client's error: 400, with the reasons on the page.
        status = 400 if errors else 200
        return TemplateResponse(request, "selling_lists/link_csv.html", context, status=status)

    def link_csv_errors_view(self, request, pk):
        """The last upload's errors as a CSV file (at most MAX_CSV_ERRORS lines)."""
        selling_list = get_object_or_404(SellingList, pk=pk)
        if not self.has_change_permission(request, selling_list):
            raise PermissionDenied
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="link-errors-{pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["error"])
        for error in request.session.get(_errors_key(pk), []):
            writer.writerow([error])
        return response

    def response_change(self, request, obj):
        # A new profile changes what Amazon should show: preview, then confirm.
        if "profile" in getattr(request, "_changed_fields", ()):
            rule_change_hold_soon(selling_list_id=obj.pk)
            self.message_user(request, f"“{obj}” was saved. Review what it changes on Amazon.")
            return HttpResponseRedirect(rule_change_url(selling_list=obj.pk))
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        request._changed_fields = form.changed_data
        super().save_model(request, obj, form, change)
        if change and "paused" in form.changed_data:
            # Statuses follow a pause at once; resuming sends what differs (docs/convergence.md).
            summary = selling_list_set_paused(
                selling_list=obj, paused=obj.paused, acting_user=request.user
            )
            verb = "paused" if obj.paused else "resumed"
            self.message_user(request, f"“{obj}” {verb}: {summary}.")


def _listings_url(selling_list) -> str:
    url = reverse("admin:selling_lists_listing_changelist")
    return f"{url}?selling_list__id__exact={selling_list.pk}"
