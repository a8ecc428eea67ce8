"""Admin of the simulated Shopify ("Sandbox · Shopify"): see and change the shop's state.

Saving an inventory level (its own page, the list's editable column or the inline on a
variant) fires `inventory_levels/update` to the shop's subscriptions, as editing stock in
Shopify's admin does. Credentials are shown in clear on purpose: this is the sandbox.
"""

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.utils.translation import ngettext

from . import gids, webhooks
from .models import (
    AdjustmentGroup,
    BulkOperation,
    InventoryLevel,
    Location,
    Metafield,
    Product,
    Shop,
    Variant,
    WebhookDelivery,
    WebhookKnobs,
    WebhookSubscription,
)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("domain", "name", "location_count", "bucket_size", "restore_rate")
    search_fields = ("domain", "name")
    readonly_fields = (
        "client_id",
        "client_secret",
        "access_token",
        "graphql_path",
        "token_path",
        "bucket_available",
        "bucket_updated_at",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("domain", "name")}),
        (
            "Credentials (sandbox: shown in clear)",
            {
                "fields": (
                    "graphql_path",
                    "token_path",
                    "access_token",
                    "client_id",
                    "client_secret",
                ),
            },
        ),
        (
            "GraphQL cost bucket",
            {"fields": ("bucket_size", "restore_rate", "bucket_available", "bucket_updated_at")},
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_locations=Count("locations"))

    @admin.display(description="locations", ordering="n_locations")
    def location_count(self, obj):
        return obj.n_locations

    @admin.display(description="GraphQL endpoint")
    def graphql_path(self, obj):
        return f"/sandbox/shopify/{obj.domain}/admin/api/2026-07/graphql.json"

    @admin.display(description="Client-credentials token URL")
    def token_path(self, obj):
        return f"/sandbox/shopify/{obj.domain}/admin/oauth/access_token"


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "is_active", "gid", "updated_at")
    list_filter = ("is_active", "shop")
    list_select_related = ("shop",)
    search_fields = ("name",)

    @admin.display(description="id")
    def gid(self, obj):
        return gids.gid("Location", obj.pk)


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ("sku", "title", "position", "inventory_policy", "tracked")
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "status", "updated_at")
    list_filter = ("shop",)
    list_select_related = ("shop",)
    search_fields = ("title", "handle", "variants__sku")
    inlines = [VariantInline]
    show_full_result_count = False


class InventoryLevelInline(admin.TabularInline):
    model = InventoryLevel
    fields = ("location", "available", "committed", "incoming", "updated_at")
    readonly_fields = ("updated_at",)
    extra = 0


class MetafieldInline(admin.TabularInline):
    model = Metafield
    fields = ("namespace", "key", "type", "value")
    extra = 0


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("sku", "title", "product", "tracked", "inventory_policy", "total_available")
    list_filter = ("tracked", "inventory_policy", "shop")
    list_select_related = ("product",)
    search_fields = ("sku", "product__title")
    raw_id_fields = ("product",)
    readonly_fields = ("inventory_item_gid", "updated_at")
    inlines = [InventoryLevelInline, MetafieldInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(total=Sum("levels__available"))

    @admin.display(description="available (all locations)", ordering="total")
    def total_available(self, obj):
        return obj.total

    @admin.display(description="inventory item")
    def inventory_item_gid(self, obj):
        # The add page has no variant yet, so no inventory item either.
        return gids.gid("InventoryItem", obj.pk) if obj.pk else "—"


@admin.register(InventoryLevel)
class InventoryLevelAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sku", "location", "available", "committed", "updated_at")
    list_display_links = ("__str__",)
    list_editable = ("available",)
    list_filter = ("location__shop", "location")
    list_select_related = ("variant", "location")
    search_fields = ("variant__sku",)
    raw_id_fields = ("variant",)
    readonly_fields = ("updated_at", "created_at")
    show_full_result_count = False

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj):
        return obj.variant.sku


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("topic", "uri", "shop", "created_at")
    list_filter = ("topic", "shop")
    list_select_related = ("shop",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "topic",
        "status",
        "is_duplicate",
        "attempts",
        "response_status",
        "event_id",
        "triggered_at",
        "delivered_at",
    )
    list_filter = ("status", "topic", "is_duplicate", "shop")
    list_select_related = ("shop",)
    search_fields = ("event_id", "uri")
    actions = ["release_held"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A delivery is never edited; change permission on the list lets its action run.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Send the held-back deliveries now", permissions=["change"])
    def release_held(self, request, queryset):
        held = queryset.filter(status=WebhookDelivery.Status.HELD)
        shops = set(held.values_list("shop_id", flat=True))
        count = sum(webhooks.release_held(shop_id=shop_id) for shop_id in shops)
        self.message_user(
            request,
            ngettext("%d delivery released.", "%d deliveries released.", count) % count,
            messages.SUCCESS,
        )


@admin.register(WebhookKnobs)
class WebhookKnobsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "duplicate_share",
        "reorder_share",
        "drop_share",
        "delay_seconds",
        "max_attempts",
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not WebhookKnobs.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BulkOperation)
class BulkOperationAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "status", "object_count", "created_at", "completed_at")
    list_filter = ("status", "shop")
    list_select_related = ("shop",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AdjustmentGroup)
class AdjustmentGroupAdmin(admin.ModelAdmin):
    list_display = ("pk", "mutation", "reason", "idempotency_key", "created_at")
    list_filter = ("mutation", "shop")
    search_fields = ("idempotency_key", "reference_document_uri")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
