from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from sync.admin import QtyPushInline
from sync.order_admin import apply_unmatched_orders
from sync.selectors import update_qty_preview

from .models import Listing, SellingList
from .selectors import compute_results, listings_with_stock
from .services import apply_rule_change, update_qty

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


def rule_change_url(**scope) -> str:
    """The before → after page of listings whose rule just changed (profile or Selling List)."""
    key, value = next(iter(scope.items()))
    return f"{reverse('admin:selling_lists_listing_rule_change')}?{key}={value}"


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
    list_filter = ["amazon_account", "marketplace", "shopify_store", "profile", "paused"]
    search_fields = ["name"]
    autocomplete_fields = ["amazon_account", "shopify_store", "profile"]
    list_select_related = ["amazon_account", "marketplace", "shopify_store", "profile"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["update_qty", "link_by_sku"]

    @admin.action(description="Link by SKU (Shopify SKU = Amazon SKU)", permissions=["change"])
    def link_by_sku(self, request, queryset):
        from sync.clients.errors import MarketplaceError
        from sync.linking import link_by_sku
        from sync.orders import unmatched_items_for_listings

        for selling_list in queryset:
            try:
                summary = link_by_sku(selling_list=selling_list, acting_user=request.user)
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
        return _update_qty_action(self, request, queryset, ids)

    @admin.display(description="listings", ordering="_listings")
    def listing_count(self, obj):
        return obj._listings

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
        from sync.clients.errors import MarketplaceError
        from sync.linking import link_skus, parse_link_csv

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
                        summary = link_skus(
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
            return HttpResponseRedirect(rule_change_url(selling_list=obj.pk))
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        request._changed_fields = form.changed_data
        super().save_model(request, obj, form, change)


class OutOfSyncFilter(admin.SimpleListFilter):
    title = "in sync"
    parameter_name = "sync"

    def lookups(self, request, model_admin):
        return [
            ("out", "Out of sync (Result ≠ last sent)"),
            ("in", "In sync"),
            ("drift", "Amazon shows another quantity (drift)"),
        ]

    def queryset(self, request, queryset):
        differs = Q(computed_quantity__isnull=False) & (
            Q(last_sent_quantity__isnull=True) | ~Q(computed_quantity=F("last_sent_quantity"))
        )
        if self.value() == "out":
            return queryset.filter(differs)
        if self.value() == "in":
            return queryset.exclude(differs)
        if self.value() == "drift":
            # As read back by the reconcile: Amazon's number is not the one we computed.
            return queryset.filter(
                fulfillment_channel="FBM",
                amazon_quantity__isnull=False,
                computed_quantity__isnull=False,
            ).exclude(amazon_quantity=F("computed_quantity"))
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
        "amazon_quantity",
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
    actions = ["update_qty", apply_unmatched_orders]
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

    def get_urls(self):
        view = self.admin_site.admin_view(self.rule_change_view)
        return [
            path("rule-change/", view, name="selling_lists_listing_rule_change"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        changed = set(form.changed_data)
        if change and {"sku", "selling_list"} & changed:
            # Another Amazon listing now: what the old SKU was told says nothing about it.
            from sync.services import forget_amazon_side

            forget_amazon_side(listing=obj)
        super().save_model(request, obj, form, change)
        if {"sku", "selling_list", "variant", "override_mode", "override_quantity"} & changed:
            from sync.services import recompute_listings

            transaction.on_commit(
                lambda: recompute_listings(
                    listing_ids=[obj.pk], reason="profile_change", acting_user=request.user
                )
            )

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
            from profiles.models import GlobalProfile

            about = get_object_or_404(GlobalProfile, pk=profile_id)
            scope = scope.filter(selling_list__profile=about)
        elif list_id := request.GET.get("selling_list"):
            about = get_object_or_404(SellingList, pk=list_id)
            scope = scope.filter(selling_list=about)
        else:
            raise PermissionDenied("Say which profile or Selling List changed.")
        ids = list(scope.values_list("pk", flat=True))
        if request.method == "POST":
            summary = apply_rule_change(listing_ids=ids, acting_user=request.user)
            self.message_user(
                request,
                ngettext(
                    "%(count)d listing is Pending Qty Update with its new quantity.",
                    "%(count)d listings are Pending Qty Update with their new quantities.",
                    summary.queued,
                )
                % {"count": summary.queued},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:selling_lists_listing_changelist"))
        rows = update_qty_preview(ids)
        changes = [row for row in rows if not row.note and row.after != row.before]
        context = {
            **self.admin_site.each_context(request),
            "title": f"What the change to {about} does on Amazon",
            "opts": self.model._meta,
            "about": about,
            "rows": changes[:PREVIEW_ROWS],
            "hidden_rows": max(len(changes) - PREVIEW_ROWS, 0),
            "to_send": len(changes),
            "total": len(rows),
            "not_sent": len(rows) - len(changes),
        }
        return TemplateResponse(request, "selling_lists/rule_change_confirmation.html", context)

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
