"""List filters of the orders' admin: fulfilment, unmatched items, Shopify stock state."""

from django.contrib import admin
from django.db.models import Exists, OuterRef

from .models import AmazonOrder, OrderStockEntry

State = OrderStockEntry.State


class FulfilmentFilter(admin.SimpleListFilter):
    title = "fulfilment"
    parameter_name = "fulfilment"

    def lookups(self, request, model_admin):
        return [("FBM", "FBM (merchant)"), ("FBA", "FBA (Amazon)")]

    def queryset(self, request, queryset):
        by = {"FBM": AmazonOrder.FulfilledBy.MERCHANT, "FBA": AmazonOrder.FulfilledBy.AMAZON}
        if self.value() in by:
            return queryset.filter(fulfilled_by=by[self.value()])
        return queryset


class UnmatchedFilter(admin.SimpleListFilter):
    title = "SKU linked"
    parameter_name = "unmatched"

    def lookups(self, request, model_admin):
        return [("yes", "Unmatched (an item's SKU is not linked)"), ("no", "All items matched")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(_unmatched=True)
        if self.value() == "no":
            return queryset.filter(_unmatched=False)
        return queryset


class ShopifyStateFilter(admin.SimpleListFilter):
    title = "Shopify stock"
    parameter_name = "shopify"

    def lookups(self, request, model_admin):
        return [
            ("failed", "Failed"),
            ("pending", "Pending"),
            ("applied", "Applied"),
            ("none", "No change (FBA, sync off, unmatched)"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in ("failed", "pending", "applied"):
            return queryset.filter(
                Exists(
                    OrderStockEntry.objects.filter(order_item__order=OuterRef("pk"), state=value)
                )
            )
        if value == "none":
            return queryset.filter(_entries=0)
        return queryset
