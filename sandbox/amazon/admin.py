"""Admin under "Sandbox · Amazon": sellers, listings, orders, fault knobs and throttle counters."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import ngettext

from . import orders as orders_service
from .models import (
    Document,
    Feed,
    Listing,
    Order,
    OrderItem,
    RateBucket,
    Report,
    SandboxSettings,
    Seller,
)


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("seller_id", "name", "client_id", "listing_count", "created_at")
    search_fields = ("seller_id", "name", "client_id")
    # Credentials are shown on purpose: a sandbox seller exists to be copied into a client.
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_listing_count=Count("listings"))

    @admin.display(description="listings", ordering="_listing_count")
    def listing_count(self, obj):
        return obj._listing_count


def _place(modeladmin, request, queryset, fulfilled_by: str) -> None:
    placed, refused = 0, []
    for listing in queryset:
        try:
            orders_service.place_order(listing=listing, quantity=1, fulfilled_by=fulfilled_by)
            placed += 1
        except orders_service.OrderError as exc:
            refused.append(str(exc))
    if placed:
        modeladmin.message_user(
            request,
            ngettext("Placed %d order.", "Placed %d orders.", placed) % placed,
            messages.SUCCESS,
        )
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "seller",
        "marketplace_id",
        "asin",
        "fulfillment_channel_code",
        "quantity",
        "product_type",
        "has_pending_change",
        "updated_at",
    )
    list_editable = ("quantity",)
    list_filter = ("fulfillment_channel_code", "marketplace_id", "seller")
    list_select_related = ("seller",)
    search_fields = ("sku", "asin")
    readonly_fields = ("created_at", "updated_at")
    actions = ("place_mfn_order", "place_afn_order")

    @admin.display(boolean=True, description="pending change")
    def has_pending_change(self, obj):
        return obj.pending_attributes is not None

    def save_model(self, request, obj, form, change):
        # Editing "quantity Amazon shows" keeps the submitted FBM attribute in step with it.
        if change and "quantity" in form.changed_data:
            obj.set_amazon_quantity(obj.quantity)
        super().save_model(request, obj, form, change)

    @admin.action(
        description="Place an MFN order for 1 unit (lowers Amazon quantity)", permissions=["change"]
    )
    def place_mfn_order(self, request, queryset):
        _place(self, request, queryset, "MERCHANT")

    @admin.action(description="Place an AFN (FBA) order for 1 unit", permissions=["change"])
    def place_afn_order(self, request, queryset):
        _place(self, request, queryset, "AMAZON")


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ("listing",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "order_id",
        "seller",
        "fulfilled_by",
        "fulfillment_status",
        "created_at",
        "last_updated_at",
    )
    list_filter = ("fulfilled_by", "fulfillment_status", "seller")
    list_select_related = ("seller",)
    search_fields = ("order_id", "items__sku")
    inlines = (OrderItemInline,)
    actions = ("cancel_orders",)

    @admin.action(description="Cancel order (gives the units back)", permissions=["change"])
    def cancel_orders(self, request, queryset):
        cancelled = sum(orders_service.cancel_order(order=order) for order in queryset)
        self.message_user(
            request,
            ngettext("Cancelled %d order.", "Cancelled %d orders.", cancelled) % cancelled,
            messages.SUCCESS,
        )


@admin.register(SandboxSettings)
class SandboxSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "rate_limits_enabled",
        "fault_429_share",
        "fault_5xx_share",
        "feed_processing_delay_seconds",
        "apply_delay_seconds",
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SandboxSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RateBucket)
class RateBucketAdmin(admin.ModelAdmin):
    list_display = (
        "seller_id",
        "operation",
        "requests_count",
        "throttled_count",
        "injected_429_count",
        "injected_5xx_count",
        "tokens",
    )
    list_filter = ("operation",)
    search_fields = ("seller_id",)
    readonly_fields = (
        "seller_id",
        "operation",
        "tokens",
        "refilled_at",
        "requests_count",
        "throttled_count",
        "injected_429_count",
        "injected_5xx_count",
    )

    def has_add_permission(self, request):
        return False


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ("feed_id", "seller", "feed_type", "processing_status", "created_at")
    list_filter = ("processing_status", "feed_type")
    list_select_related = ("seller",)
    raw_id_fields = ("input_document", "result_document")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("report_id", "seller", "report_type", "processing_status", "created_at")
    list_select_related = ("seller",)
    raw_id_fields = ("document",)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("document_id", "seller", "kind", "content_type", "uploaded_at")
    list_filter = ("kind",)
    list_select_related = ("seller",)
    exclude = ("content",)
