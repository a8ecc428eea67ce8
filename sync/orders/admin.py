"""Admin for Amazon orders and the Shopify stock ledger (thin: every action calls a service).

Registered on import: Django's admin autodiscovery imports `sync.admin`, which imports this.
`import_orders_now` and `apply_unmatched_orders` also serve the account and listing changelists.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from accounts.models import AmazonAccount

from ..jobs.admin import job_started_response
from ..jobs.models import JobKind
from ..jobs.services import job_start
from .apply import order_entries_retry
from .filters import FulfilmentFilter, ShopifyStateFilter, UnmatchedFilter
from .models import AmazonOrder, AmazonOrderItem, OrderStockEntry
from .tasks import apply_pending_order_items_task, import_orders_task

State = OrderStockEntry.State


# --- actions shared with other changelists ---------------------------------------------------


def queue_order_imports(request, accounts) -> None:
    """Queue an import for each account and say so (accounts with FBM sync off are named)."""
    accounts = list(accounts)
    for account in accounts:
        import_orders_task.delay_on_commit(account.pk)
    messages.success(
        request,
        ngettext(
            "Importing Amazon orders of %(n)d account; they appear under Amazon orders.",
            "Importing Amazon orders of %(n)d accounts; they appear under Amazon orders.",
            len(accounts),
        )
        % {"n": len(accounts)},
    )
    off = [str(a) for a in accounts if not a.sync_fbm_orders]
    if off:
        messages.warning(
            request,
            "“Sync FBM orders to Shopify stock” is off for "
            + ", ".join(off)
            + ": their orders are recorded but do not change Shopify stock.",
        )


@admin.action(description="Import orders now", permissions=["change"])
def import_orders_now(modeladmin, request, queryset):
    """For the Amazon account changelist: import the selected accounts' orders now."""
    queue_order_imports(request, queryset)


@admin.action(description="Apply unmatched orders", permissions=["change"])
def apply_unmatched_orders(modeladmin, request, queryset):
    """For the listing changelist: apply orders whose SKU was sold before it was linked.

    Writing to Shopify is a background job; the page follows its progress.
    """
    job = job_start(
        kind=JobKind.APPLY_UNMATCHED_ORDERS,
        acting_user=request.user,
        params={"listing_ids": list(queryset.values_list("pk", flat=True))},
    )
    return job_started_response(request, job)


# --- orders ------------------------------------------------------------------------------------


class AmazonOrderItemInline(admin.TabularInline):
    model = AmazonOrderItem
    fields = ["order_item_id", "sku", "asin", "quantity", "listing"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AmazonOrder)
class AmazonOrderAdmin(admin.ModelAdmin):
    list_display = [
        "order_id",
        "account",
        "marketplace",
        "status",
        "fulfilment",
        "items_column",
        "shopify_column",
        "last_applied",
        "errors_column",
        "purchased_at",
    ]
    list_filter = [
        FulfilmentFilter,
        UnmatchedFilter,
        ShopifyStateFilter,
        "status",
        "syncs_stock",
        "account",
        ("marketplace", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["order_id", "items__sku", "items__order_item_id"]
    list_select_related = ["account", "marketplace"]
    date_hierarchy = "purchased_at"
    inlines = [AmazonOrderItemInline]
    actions = ["retry", "apply_unmatched", "import_now"]
    readonly_fields = [
        "order_id",
        "account",
        "marketplace",
        "status",
        "fulfilled_by",
        "purchased_at",
        "last_updated",
        "syncs_stock",
        "first_seen_at",
        "updated_at",
        "stock_ledger",
        "raw",
    ]
    fieldsets = [
        (None, {"fields": ["order_id", "account", "marketplace", "status", "fulfilled_by"]}),
        ("Shopify stock", {"fields": ["syncs_stock", "stock_ledger"]}),
        (
            "Times",
            {"fields": ["purchased_at", "last_updated", "first_seen_at", "updated_at"]},
        ),
        ("As Amazon sent it", {"fields": ["raw"], "classes": ["collapse"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger refers to the orders: they are history

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("items")
            .annotate(
                _items=Count("items", distinct=True),
                _unmatched=Exists(
                    AmazonOrderItem.objects.filter(order=OuterRef("pk"), listing__isnull=True)
                ),
                _entries=Count("items__stock_entries", distinct=True),
                _applied=Count(
                    "items__stock_entries",
                    filter=Q(items__stock_entries__state=State.APPLIED),
                    distinct=True,
                ),
                _failed=Count(
                    "items__stock_entries",
                    filter=Q(items__stock_entries__state=State.FAILED),
                    distinct=True,
                ),
                _pending=Count(
                    "items__stock_entries",
                    filter=Q(items__stock_entries__state=State.PENDING),
                    distinct=True,
                ),
                _last_applied=Max("items__stock_entries__applied_at"),
            )
        )

    @admin.display(description="fulfilment", ordering="fulfilled_by")
    def fulfilment(self, obj):
        return {"MERCHANT": "FBM", "AMAZON": "FBA"}.get(obj.fulfilled_by, obj.fulfilled_by or "—")

    @admin.display(description="items")
    def items_column(self, obj):
        return format_html_join(
            ", ",
            "{} × {}{}",
            (
                (item.sku or "?", item.quantity, "" if item.listing_id else " (unmatched)")
                for item in obj.items.all()
            ),
        )

    @admin.display(description="applied to Shopify")
    def shopify_column(self, obj):
        if obj.fulfilled_by == AmazonOrder.FulfilledBy.AMAZON:
            return "FBA — never"
        if not obj.syncs_stock:
            return "not synced"
        if not obj._entries:
            return "unmatched" if obj._unmatched else "—"
        text = f"{obj._applied} of {obj._entries} applied"
        if obj._pending:
            text += f", {obj._pending} pending"
        return text

    @admin.display(description="applied at", ordering="_last_applied")
    def last_applied(self, obj):
        return obj._last_applied

    @admin.display(description="errors", ordering="_failed")
    def errors_column(self, obj):
        if not obj._failed:
            return ""
        return format_html('<span class="badge badge-failed">{} failed</span>', obj._failed)

    @admin.display(description="Shopify stock ledger")
    def stock_ledger(self, obj):
        entries = OrderStockEntry.objects.filter(order_item__order=obj).select_related(
            "order_item", "location"
        )
        if not entries:
            return "No Shopify stock changes for this order."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    e.order_item.sku,
                    e.get_action_display(),
                    e.quantity,
                    e.location.name if e.location else "—",
                    e.get_state_display(),
                    "" if e.quantity_after is None else e.quantity_after,
                    display_for_value(e.applied_at, ""),
                    e.error or e.note,
                )
                for e in entries
            ),
        )
        return format_html(
            "<table><thead><tr><th>SKU</th><th>change</th><th>units</th><th>location</th>"
            "<th>state</th><th>available after</th><th>applied at</th><th>message</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Retry failed Shopify stock changes", permissions=["change"])
    def retry(self, request, queryset):
        failed = OrderStockEntry.objects.filter(
            order_item__order__in=queryset, state=State.FAILED
        ).values_list("pk", flat=True)
        _retry(request, failed)

    @admin.action(description="Apply unmatched orders", permissions=["change"])
    def apply_unmatched(self, request, queryset):
        job = job_start(
            kind=JobKind.APPLY_UNMATCHED_ORDERS,
            acting_user=request.user,
            params={"order_ids": list(queryset.values_list("pk", flat=True))},
        )
        return job_started_response(request, job)

    @admin.action(
        description="Import orders now (the selected orders' accounts)", permissions=["change"]
    )
    def import_now(self, request, queryset):
        queue_order_imports(
            request, AmazonAccount.objects.filter(pk__in=queryset.values("account_id"))
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_import_orders": self.has_change_permission(request)} | (
            extra_context or {}
        )
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import-now/",
                self.admin_site.admin_view(self.import_all_view),
                name="{}_{}_import_now".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_all_view(self, request):
        """The changelist's “Import orders now” button: every account, nothing to select."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            messages.error(request, "You may not import orders.")
        else:
            queue_order_imports(request, AmazonAccount.objects.all())
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        )


def _retry(request, entry_ids) -> None:
    """Failed entries back to pending (here), written to Shopify by a worker (queued)."""
    retried = order_entries_retry(entry_ids=entry_ids, acting_user=request.user)
    if not retried:
        messages.info(request, "Nothing failed: there is nothing to retry.")
        return
    accounts = OrderStockEntry.objects.filter(pk__in=retried).values_list(
        "order_item__order__account_id", flat=True
    )
    for account_id in sorted(set(accounts)):
        apply_pending_order_items_task.delay_on_commit(account_id)
    messages.success(
        request,
        ngettext(
            "Retrying %(n)d Shopify stock change in the background; its state shows here.",
            "Retrying %(n)d Shopify stock changes in the background; their states show here.",
            len(retried),
        )
        % {"n": len(retried)},
    )


# --- the ledger --------------------------------------------------------------------------------


@admin.register(OrderStockEntry)
class OrderStockEntryAdmin(admin.ModelAdmin):
    list_display = [
        "order_column",
        "sku",
        "action",
        "quantity",
        "location",
        "state",
        "quantity_after",
        "applied_at",
        "attempts",
        "message",
    ]
    list_filter = ["state", "action", "store", "location"]
    search_fields = ["order_item__order__order_id", "order_item__sku", "idempotency_key"]
    list_select_related = ["order_item__order", "location"]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Rows change only through services; "change" here means "may run Retry".
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="order", ordering="order_item__order__order_id")
    def order_column(self, obj):
        order = obj.order_item.order
        url = reverse("admin:sync_amazonorder_change", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, order.order_id)

    @admin.display(description="SKU", ordering="order_item__sku")
    def sku(self, obj):
        return obj.order_item.sku

    @admin.display(description="message")
    def message(self, obj):
        return obj.error or obj.note

    @admin.action(description="Retry failed Shopify stock changes", permissions=["change"])
    def retry(self, request, queryset):
        _retry(request, queryset.filter(state=State.FAILED).values_list("pk", flat=True))


__all__ = [
    "AmazonOrderAdmin",
    "OrderStockEntryAdmin",
    "apply_unmatched_orders",
    "import_orders_now",
]
