from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, F, Q
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from sync.admin import QtyPushInline
from sync.selectors import update_qty_preview

from .models import Listing, SellingList
from .selectors import compute_results, listings_with_stock
from .services import update_qty

# Rows shown on the Update Qty confirmation page; the rest are counted.
PREVIEW_ROWS = 200


def _update_qty_action(modeladmin, request, queryset, listing_ids):
    """Confirm (before → after), then queue the pushes and say what happened."""
    listing_ids = list(listing_ids)
    if request.POST.get("post") == "yes":
        summary = update_qty(listing_ids=listing_ids, acting_user=request.user)
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
    rows = update_qty_preview(listing_ids)
    sync_off = sorted(
        {row.listing.amazon_account.name for row in rows}
        - {
            row.listing.amazon_account.name
            for row in rows
            if row.listing.amazon_account.inventory_sync_enabled
        }
    )
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Update Qty: send these quantities to Amazon?",
        "opts": modeladmin.model._meta,
        "rows": rows[:PREVIEW_ROWS],
        "hidden_rows": max(len(rows) - PREVIEW_ROWS, 0),
        "total": len(rows),
        "to_send": sum(1 for row in rows if not row.note),
        "sync_off_accounts": sync_off,
        "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        "action": request.POST.get("action", "update_qty"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "selling_lists/update_qty_confirmation.html", context)


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
    ]
    list_filter = ["amazon_account", "marketplace", "shopify_store", "profile", "paused"]
    search_fields = ["name"]
    autocomplete_fields = ["amazon_account", "shopify_store", "profile"]
    list_select_related = ["amazon_account", "marketplace", "shopify_store", "profile"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["update_qty"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_listings=Count("listings"))

    @admin.action(
        description="Update Qty on Amazon (all listings of the list)", permissions=["change"]
    )
    def update_qty(self, request, queryset):
        ids = Listing.objects.filter(selling_list__in=queryset).values_list("pk", flat=True)
        return _update_qty_action(self, request, queryset, ids)

    @admin.display(description="listings", ordering="_listings")
    def listing_count(self, obj):
        return obj._listings


class OutOfSyncFilter(admin.SimpleListFilter):
    title = "in sync"
    parameter_name = "sync"

    def lookups(self, request, model_admin):
        return [("out", "Out of sync (Result ≠ last sent)"), ("in", "In sync")]

    def queryset(self, request, queryset):
        differs = Q(computed_quantity__isnull=False) & (
            Q(last_sent_quantity__isnull=True) | ~Q(computed_quantity=F("last_sent_quantity"))
        )
        if self.value() == "out":
            return queryset.filter(differs)
        if self.value() == "in":
            return queryset.exclude(differs)
        return queryset


class ListingChangeList(ChangeList):
    """Computes the Result of the page's rows in one batch: no query per row."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        results = compute_results(rows)
        for row in rows:
            row.rule, row.result = results[row.pk]
        self.result_list = rows


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = [
        "sku",
        "product",
        "selling_list",
        "marketplace_country",
        "shopify_stock_col",
        "result_col",
        "last_sent_quantity",
        "status",
        "fulfillment_channel",
    ]
    list_filter = [
        "status",
        OutOfSyncFilter,
        "selling_list",
        ("selling_list__profile", admin.RelatedOnlyFieldListFilter),
        "fulfillment_channel",
        "paused",
        "stock_missing",
    ]
    search_fields = ["sku", "asin", "variant__title", "variant__product__title", "variant__sku"]
    autocomplete_fields = ["selling_list", "variant"]
    list_per_page = 100
    actions = ["update_qty"]
    inlines = [QtyPushInline]
    readonly_fields = [
        "amazon_account",
        "marketplace",
        "asin",
        "product_type",
        "fulfillment_channel",
        "status",
        "status_message",
        "stock_missing",
        "last_sent_quantity",
        "last_sent_at",
        "computed_quantity",
        "computed_at",
        "amazon_quantity",
        "result_now",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["selling_list", "variant", "sku", "paused"]}),
        (
            "Amazon",
            {
                "fields": [
                    "amazon_account",
                    "marketplace",
                    "asin",
                    "product_type",
                    "fulfillment_channel",
                    "amazon_quantity",
                ]
            },
        ),
        (
            "Quantity",
            {
                "fields": ["result_now", "override_mode", "override_quantity"],
                "description": "An own mode overrides the Selling List's Global Profile "
                "for this listing only.",
            },
        ),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "status_message",
                    "stock_missing",
                    "last_sent_quantity",
                    "last_sent_at",
                    "computed_quantity",
                    "computed_at",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return listings_with_stock(super().get_queryset(request))

    def get_changelist(self, request, **kwargs):
        return ListingChangeList

    @admin.action(description="Update Qty on Amazon", permissions=["change"])
    def update_qty(self, request, queryset):
        return _update_qty_action(self, request, queryset, queryset.values_list("pk", flat=True))

    @admin.display(description="product", ordering="variant__product__title")
    def product(self, obj):
        return str(obj.variant) if obj.variant_id else "— variant gone —"

    @admin.display(description="marketplace", ordering="marketplace__country")
    def marketplace_country(self, obj):
        return obj.marketplace.country_code

    @admin.display(description="Shopify stock", ordering="shopify_stock")
    def shopify_stock_col(self, obj):
        return obj.shopify_stock

    @admin.display(description="Result")
    def result_col(self, obj):
        result = obj.result
        title = " → ".join(result.trace)
        if result.quantity is None:
            return format_html('<span title="{}">unchanged ⚠</span>', title)
        return format_html('<span title="{}">{}</span>', title, result.quantity)

    @admin.display(description="Result (computed now)")
    def result_now(self, obj):
        if obj.pk is None:
            return "—"
        listing = listings_with_stock().get(pk=obj.pk)
        rule, result = compute_results([listing])[listing.pk]
        quantity = "unchanged" if result.quantity is None else result.quantity
        steps = format_html_join("", "<li>{}</li>", ((step,) for step in result.trace))
        return format_html("<strong>{}</strong><ol>{}</ol>", quantity, steps)
