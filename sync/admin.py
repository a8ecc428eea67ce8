"""Admin of the sync engine: the push history (the audit log), feeds and webhooks. Read-only:
every number Amazon was told is recorded here and nobody edits history.

Django's autodiscovery imports this module only: the orders' admin is imported here to be
registered too, as are the jobs' (`__all__` names what this module provides)."""

from django.contrib import admin
from django.db.models import Sum
from django.utils.html import format_html, format_html_join

from accounts.admin_mixins import ReadOnlyAdminMixin

from .jobs.admin import JobAdmin
from .models import AmazonFeed, QtyPush, ReconcileRun, WebhookEvent, WebhookRejection
from .orders.admin import AmazonOrderAdmin, OrderStockEntryAdmin

__all__ = [
    "AmazonFeedAdmin",
    "AmazonOrderAdmin",
    "JobAdmin",
    "OrderStockEntryAdmin",
    "QtyPushAdmin",
    "QtyPushInline",
    "ReconcileRunAdmin",
    "WebhookEventAdmin",
    "WebhookRejectionAdmin",
]


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


def _trace_html(trace) -> str:
    return format_html(
        "<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((step,) for step in trace or ()))
    )


def _answer(push: QtyPush) -> str:
    parts = [p for p in (push.amazon_status, push.message) if p]
    return " — ".join(parts)


class QtyPushInline(admin.TabularInline):
    """The listing's push history on its page: when, what, why, how, and Amazon's answer."""

    model = QtyPush
    fk_name = "listing"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Qty push history"
    fields = [
        "created_at",
        "previous_quantity",
        "quantity",
        "reason",
        "created_by",
        "transport",
        "state",
        "amazon_answer",
        "sent_at",
        "confirmed_at",
        "trace_steps",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by", "listing")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Amazon's answer")
    def amazon_answer(self, obj):
        return _answer(obj)

    @admin.display(description="trace")
    def trace_steps(self, obj):
        return _trace_html(obj.trace)


@admin.register(QtyPush)
class QtyPushAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "listing",
        "account",
        "previous_quantity",
        "quantity",
        "reason",
        "transport",
        "state",
        "amazon_answer",
        "attempts",
        "sent_at",
        "confirmed_at",
        "created_by",
    ]
    list_filter = ["state", "reason", "transport", "amazon_status", "account"]
    search_fields = ["listing__sku", "message", "feed__feed_id"]
    list_select_related = ["listing", "account", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "listing",
        "account",
        "previous_quantity",
        "quantity",
        "trace_steps",
        "reason",
        "created_by",
        "transport",
        "state",
        "amazon_status",
        "message",
        "response",
        "attempts",
        "checks",
        "next_attempt_at",
        "created_at",
        "claimed_at",
        "sent_at",
        "confirmed_at",
        "feed",
        "feed_message_id",
    ]
    fields = readonly_fields

    @admin.display(description="Amazon's answer")
    def amazon_answer(self, obj):
        return _answer(obj)

    @admin.display(description="trace")
    def trace_steps(self, obj):
        return _trace_html(obj.trace)


@admin.register(AmazonFeed)
class AmazonFeedAdmin(ReadOnlyAdmin):
    list_display = [
        "feed_id",
        "account",
        "marketplace",
        "status",
        "messages",
        "submitted_at",
        "finished_at",
        "polls",
    ]
    list_filter = ["status", "account"]
    search_fields = ["feed_id"]
    list_select_related = ["account", "marketplace"]
    readonly_fields = [
        "account",
        "marketplace",
        "feed_id",
        "status",
        "messages",
        "result_document_id",
        "submitted_at",
        "finished_at",
        "applied_at",
        "polls",
        "next_poll_at",
        "report",
    ]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "store",
        "topic",
        "event_id",
        "triggered_at",
        "processed_at",
        "outcome",
    ]
    list_filter = ["topic", "store", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "webhook_id"]
    list_select_related = ["store"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "store",
        "topic",
        "event_id",
        "webhook_id",
        "triggered_at",
        "received_at",
        "processed_at",
        "outcome",
        "payload",
    ]


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(ReadOnlyAdmin):
    """Deliveries refused before anything was stored (unknown shop, bad or missing HMAC)."""

    list_display = ["day", "store", "reason", "count", "last_at"]
    list_filter = ["reason", "store"]
    list_select_related = ["store"]
    date_hierarchy = "day"

    def changelist_view(self, request, extra_context=None):
        total = WebhookRejection.objects.aggregate(total=Sum("count"))["total"] or 0
        extra_context = {**(extra_context or {}), "title": f"Rejected webhooks ({total} in all)"}
        return super().changelist_view(request, extra_context)


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    """Every reconcile pass and how long it took, beside beat's interval."""

    list_display = [
        "started_at",
        "duration",
        "interval_seconds",
        "read_back",
        "drifted",
        "variants",
        "errors",
    ]
    list_filter = ["running"]

    @admin.display(description="duration", ordering="seconds")
    def duration(self, obj):
        if obj.running:
            return "running"
        if obj.seconds is None:
            return "—"
        over = obj.interval_seconds is not None and obj.seconds > obj.interval_seconds
        text = f"{obj.seconds:.1f} s"
        return format_html("<strong>{} (over its interval)</strong>", text) if over else text
