"""Admin of Selling Lists: linking, CSV links, Update Qty on a whole list, pausing."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from sync.clients.errors import MarketplaceError
from sync.linking import parse_link_csv, selling_list_link_by_sku, selling_list_link_skus
from sync.orders.selectors import unmatched_items_for_listings

from ..models import Listing, SellingList
from .confirmations import rule_change_url, update_qty_action


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
        for selling_list in queryset:
            try:
                summary = selling_list_link_by_sku(
                    selling_list=selling_list, acting_user=request.user
                )
            except MarketplaceError as error:
                self.message_user(request, f"{selling_list}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, f"{selling_list}: {summary}.", messages.SUCCESS)
            unmatched = unmatched_items_for_listings(summary.listing_ids).count()
            if unmatched:
                self.message_user(
                    request,
                    ngettext(
                        "%(n)d Amazon order item was sold before its SKU was linked: select "
                        "those listings and run “Apply unmatched orders” to take it off Shopify.",
                        "%(n)d Amazon order items were sold before their SKUs were linked: "
                        "select those listings and run “Apply unmatched orders” to take them off "
                        "Shopify.",
                        unmatched,
                    )
                    % {"n": unmatched},
                    messages.WARNING,
                )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_listings=Count("listings"))

    @admin.action(
        description="Update Qty on Amazon (all listings of the list)", permissions=["change"]
    )
    def update_qty(self, request, queryset):
        ids = Listing.objects.filter(selling_list__in=queryset).values_list("pk", flat=True)
        return update_qty_action(self, request, queryset, ids)

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
        return [
            path("<int:pk>/link-csv/", view, name="selling_lists_sellinglist_link_csv"),
            *super().get_urls(),
        ]

    @admin.display(description="links")
    def csv_link(self, obj):
        url = reverse("admin:selling_lists_sellinglist_link_csv", args=[obj.pk])
        return format_html('<a href="{}">Link SKUs from a CSV</a>', url)

    def link_csv_view(self, request, pk):
        """Link Shopify SKUs to other Amazon SKUs from an uploaded `shopify_sku,amazon_sku` CSV."""
        selling_list = get_object_or_404(SellingList, pk=pk)
        if not self.has_change_permission(request, selling_list):
            raise PermissionDenied
        errors: list[str] = []
        if request.method == "POST":
            upload = request.FILES.get("file")
            if upload is None:
                errors = ["Choose a CSV file."]
            elif upload.size > 20 * 1024 * 1024:
                errors = ["The file is larger than 20 MB: split it."]
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    text, errors = "", ["The file is not UTF-8 text."]
                pairs, errors = parse_link_csv(text) if text else ({}, errors)
                if pairs and not errors:
                    try:
                        summary = selling_list_link_skus(
                            selling_list=selling_list, pairs=pairs, acting_user=request.user
                        )
                    except MarketplaceError as error:
                        errors = [error.message]
                    else:
                        self.message_user(request, f"{selling_list}: {summary}.", messages.SUCCESS)
                        for label, skus in (
                            ("not in Shopify", summary.not_in_shopify),
                            ("not on Amazon", summary.not_on_amazon),
                        ):
                            if skus:
                                self.message_user(
                                    request,
                                    f"Not linked, {label}: {', '.join(skus[:20])}"
                                    + (" …" if len(skus) > 20 else ""),
                                    messages.WARNING,
                                )
                        url = reverse("admin:selling_lists_listing_changelist")
                        return HttpResponseRedirect(f"{url}?selling_list__id__exact={pk}")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Link SKUs from a CSV — {selling_list}",
            "opts": self.model._meta,
            "selling_list": selling_list,
            "errors": errors,
        }
        return TemplateResponse(request, "selling_lists/link_csv.html", context)

    def response_change(self, request, obj):
        # A new profile or a pause changes what Amazon should show: preview, then confirm.
        if {"profile", "paused"} & set(getattr(request, "_changed_fields", ())):
            self.message_user(request, f"“{obj}” was saved. Review what it changes on Amazon.")
            return HttpResponseRedirect(rule_change_url(selling_list=obj.pk))
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        request._changed_fields = form.changed_data
        super().save_model(request, obj, form, change)


def _listings_url(selling_list) -> str:
    url = reverse("admin:selling_lists_listing_changelist")
    return f"{url}?selling_list__id__exact={selling_list.pk}"
