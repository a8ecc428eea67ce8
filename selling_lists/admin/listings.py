"""Admin of Listings: the compact changelist, its filters, Update Qty, the rule-change preview."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.admin_large import EstimatedCountPaginator, indexed_search, sku_first_search
from profiles.models import GlobalProfile
from sync.admin import QtyPushInline
from sync.history import listing_history
from sync.jobs.admin import job_started_response
from sync.jobs.models import JobKind
from sync.jobs.services import job_start
from sync.orders.admin import apply_unmatched_orders
from sync.outbox.actions import listing_save
from sync.outbox.results import compute_results
from sync.selectors import update_qty_overview

from ..models import Listing, ListingSearch, ListingStatus, SellingList
from ..selectors import (
    listings_in_state,
    listings_in_sync,
    listings_out_of_sync,
    listings_with_state,
    listings_with_stock,
)
from .bulk import move_to_selling_list, pause_sync, resume_sync, set_own_rule
from .confirmations import PREVIEW_ROWS, update_qty_action


class StateFilter(admin.SimpleListFilter):
    """The state model's states (docs/convergence.md), not the stored status: FBA, a pause and
    the account's sync switch show at once. Its counts (the admin's facets) follow from it."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ListingStatus.choices

    def queryset(self, request, queryset):
        if self.value() in ListingStatus.values:
            return listings_in_state(self.value(), queryset)
        return queryset


class OutOfSyncFilter(admin.SimpleListFilter):
    title = "in sync"
    parameter_name = "sync"

    def lookups(self, request, model_admin):
        return [
            ("out", "Out of sync (Amazon does not show the Result yet)"),
            ("in", "In sync"),
            ("drift", "Amazon shows another quantity (drift)"),
        ]

    def queryset(self, request, queryset):
        # The state model (docs/convergence.md): never FBA, paused or sync off.
        if self.value() == "out":
            return listings_out_of_sync(queryset)
        if self.value() == "in":
            return listings_in_sync(queryset)
        if self.value() == "drift":
            # As read back by the reconcile: Amazon's number is not the one we computed.
            return queryset.filter(
                fulfillment_channel="FBM",
                amazon_quantity__isnull=False,
                computed_quantity__isnull=False,
            ).exclude(amazon_quantity=F("computed_quantity"))
        return queryset


class ListedRelationFilter(admin.RelatedFieldListFilter):
    """The accounts, marketplaces or profiles of the Selling Lists that hold listings, read from
    the few Selling Lists. Equal to RelatedOnlyFieldListFilter's choices (a listing's account
    and marketplace are its list's, locked while it has listings) without its DISTINCT over
    every listing, which cost 0.2 s a filter at 100,000 (docs/BENCHMARKS.md)."""

    def field_choices(self, field, request, model_admin):
        relation = self.field_path.removeprefix("selling_list__")
        holding = SellingList.objects.filter(
            Exists(Listing.objects.filter(selling_list=OuterRef("pk")))
        )
        return field.get_choices(
            include_blank=False,
            ordering=self.field_admin_ordering(field, request, model_admin),
            limit_choices_to={"pk__in": holding.values(f"{relation}__pk")},
        )


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
    # Compact: fits 1280 px. SKU and product on one line, Shopify → Result → Amazon, a badge.
    # The marketplace is the Selling List's (and a filter), so it needs no column of its own.
    list_display = ["sku_product", "selling_list", "quantities", "state"]
    list_display_links = ["sku_product"]
    list_filter = [
        StateFilter,
        OutOfSyncFilter,
        "selling_list",
        ("amazon_account", ListedRelationFilter),
        ("marketplace", ListedRelationFilter),
        ("selling_list__profile", ListedRelationFilter),
        "fulfillment_channel",
        "paused",
        "stock_missing",
    ]
    search_fields = ["sku", "asin", "variant__title", "variant__product__title", "variant__sku"]
    autocomplete_fields = ["selling_list", "variant"]
    list_per_page = 100
    actions = [
        "update_qty",
        apply_unmatched_orders,
        move_to_selling_list,
        set_own_rule,
        pause_sync,
        resume_sync,
    ]
    inlines = [QtyPushInline]
    readonly_fields = [
        "amazon_account",
        "marketplace",
        "asin",
        "product_type",
        "fulfillment_channel",
        "state_now",
        "source_read",
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
                    "state_now",
                    "source_read",
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

    # 300,000 listings (docs/BENCHMARKS.md): no COUNT(*) of the table on every page.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        return listings_with_state(listings_with_stock(super().get_queryset(request)))

    def lookup_allowed(self, lookup, value, request=None):
        # The sync-health page links failures grouped by Amazon's message.
        if lookup == "status_message":
            return True
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        """A SKU, typed whole or its start, is found on the SKU index; anything else (titles,
        ASIN) falls back to the substring search of `search_fields`, each table searched on its
        trigram indexes (`indexed_search`), the listing's SKU and ASIN on `ListingSearch`'s."""
        by_sku = sku_first_search(queryset, search_term)
        if by_sku is not None:
            return by_sku, False
        found = indexed_search(
            queryset, self.search_fields, search_term, search_table=ListingSearch
        )
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def get_changelist(self, request, **kwargs):
        return ListingChangeList

    def get_urls(self):
        view = self.admin_site.admin_view(self.rule_change_view)
        return [
            path("rule-change/", view, name="selling_lists_listing_rule_change"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The history chart (sync/history.py): pushes and orders of the last 7 days. Built only
        # for a page shown (after the permission checks), never for a save that redirects.
        if obj is not None and obj.pk:
            history = listing_history(listing_id=obj.pk)
            context.update(history=history, history_chart=history.chart())
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        listing_save(listing=obj, changed_fields=form.changed_data, acting_user=request.user)

    def rule_change_view(self, request):
        """Flow 5: which listings a profile or Selling List change moves, before → after."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        scope = Listing.objects.all()
        for key in ("profile", "selling_list"):
            value = request.GET.get(key)
            if value is not None and not value.isdigit():
                raise Http404(f"No {key.replace('_', ' ')} with the id {value!r}.")
        if profile_id := request.GET.get("profile"):
            about = get_object_or_404(GlobalProfile, pk=profile_id)
            scope = scope.filter(selling_list__profile=about)
        elif list_id := request.GET.get("selling_list"):
            about = get_object_or_404(SellingList, pk=list_id)
            scope = scope.filter(selling_list=about)
        else:
            raise PermissionDenied("Say which profile or Selling List changed.")
        if request.method == "POST":
            ids = list(scope.values_list("pk", flat=True))
            job = job_start(
                kind=JobKind.RULE_CHANGE, acting_user=request.user, params={"listing_ids": ids}
            )
            return job_started_response(request, job)
        # The first rows computed and the rest counted in SQL, as on the Update Qty page: a
        # profile behind 100,000 listings in a constant number of queries.
        overview = update_qty_overview(scope, rows=PREVIEW_ROWS)
        changes = [row for row in overview.rows if not row.note and row.after != row.before]
        context = {
            **self.admin_site.each_context(request),
            "title": f"What the change to {about} does on Amazon",
            "opts": self.model._meta,
            "about": about,
            "rows": changes,
            "checked": len(overview.rows),
            "unchecked": overview.total - len(overview.rows),
            "to_send": overview.to_send,
            "total": overview.total,
        }
        return TemplateResponse(request, "selling_lists/rule_change_confirmation.html", context)

    @admin.action(description="Update Qty on Amazon", permissions=["change"])
    def update_qty(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        return update_qty_action(self, request, queryset, ids, scope={"listing_ids": ids})

    @admin.display(description="product", ordering="variant__product__title")
    def product(self, obj):
        return str(obj.variant) if obj.variant_id else "— variant gone —"

    @admin.display(description="Amazon SKU · product", ordering="sku")
    def sku_product(self, obj):
        product = self.product(obj)
        return format_html(
            '<span class="listing-line" title="{} · {}"><span class="sku">{}</span>'
            '<span class="product">{}</span></span>',
            obj.sku,
            product,
            obj.sku,
            product,
        )

    @admin.display(description="Shopify → Result → Amazon")
    def quantities(self, obj):
        result = obj.result
        shown = "unchanged" if result.quantity is None else result.quantity
        amazon = "—" if obj.amazon_quantity is None else obj.amazon_quantity
        differs = obj.amazon_quantity is not None and obj.amazon_quantity != result.quantity
        return format_html(
            '<span class="qty-flow"><span class="stock">{}</span><span class="arrow">→</span>'
            '<span class="result" title="{}">{}</span><span class="arrow">→</span>'
            '<span class="amazon{}">{}</span></span>',
            obj.shopify_stock,
            " → ".join(result.trace),
            shown,
            " differs" if differs else "",
            amazon,
        )

    @admin.display(description="state", ordering="sync_state")
    def state(self, obj):
        # The computed state (`sync_state`), one badge per state; the reason is its title.
        return format_html(
            '<span class="badge badge-{}" title="{}">{}</span>',
            obj.sync_state,
            obj.state_text,
            ListingStatus(obj.sync_state).label,
        )

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

    @admin.display(description="state")
    def state_now(self, obj):
        """The state as the merchant reads it, with its reason (docs/convergence.md)."""
        return obj.state_text if obj.pk else "—"

    @admin.display(description="stock read from Shopify at")
    def source_read(self, obj):
        read_at = obj.source_read_at if obj.pk else None
        return timezone.localtime(read_at).strftime("%Y-%m-%d %H:%M:%S") if read_at else "—"

    @admin.display(description="Result (computed now)")
    def result_now(self, obj):
        if obj.pk is None:
            return "—"
        listing = listings_with_stock().get(pk=obj.pk)
        rule, result = compute_results([listing])[listing.pk]
        quantity = "unchanged" if result.quantity is None else result.quantity
        steps = format_html_join("", "<li>{}</li>", ((step,) for step in result.trace))
        return format_html("<strong>{}</strong><ol>{}</ol>", quantity, steps)
