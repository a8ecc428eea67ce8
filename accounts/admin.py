from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum

from sync.connections import amazon_connection_check, shopify_connection_check
from sync.jobs.admin import job_started_response, jobs_started_response
from sync.jobs.models import JobKind
from sync.jobs.services import job_start
from sync.orders.admin import import_orders_now
from sync.outbox.actions import account_switches_changed
from sync.tasks import connect_store_task

from .admin_large import EstimatedCountPaginator, indexed_search, sku_first_search
from .admin_mixins import ReadOnlyAdminMixin
from .forms import AmazonAccountForm, ShopifyStoreForm, describe_secret
from .models import (
    AmazonAccount,
    InventoryLevel,
    Location,
    Marketplace,
    MetafieldValue,
    Product,
    ShopifyStore,
    Variant,
)
from .services import shopify_store_forget_secrets_of_old_domain


def report_checks(modeladmin, request, checks) -> None:
    for check in checks:
        level = messages.SUCCESS if check.ok else messages.ERROR
        modeladmin.message_user(request, check.message, level)


def switch(name: str, header: str):
    """A switch as a short-headed column: the field's sentence as a header pushes the other
    switches off a 1280 px screen."""

    @admin.display(description=header, boolean=True, ordering=name)
    def display(modeladmin, obj):
        return getattr(obj, name)

    return display


def saved_secret(name: str, label: str):
    """A read-only admin column that says whether a secret is saved, never what it is."""

    @admin.display(description=label)
    def display(modeladmin, obj):
        return describe_secret(getattr(obj, name))

    return display


class OperateAdminMixin:
    """Actions marked `permissions=["operate"]`: run by Operators, who may not edit credentials."""

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.operate_{self.opts.model_name}")


class SecretFieldsAdminMixin:
    """Secrets are never rendered, in any mode.

    Users who may change the object get the form's write-only password inputs. Django shows
    view-only users every field as read-only text, which would print the secret itself, so
    their pages show `<field>_saved` ("saved (ends …1234)") in the secret's place.
    """

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        secrets = set(self.form.secret_fields)
        return [
            (
                title,
                {**opts, "fields": [f"{f}_saved" if f in secrets else f for f in opts["fields"]]},
            )
            for title, opts in fieldsets
        ]


@admin.register(Marketplace)
class MarketplaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["country", "country_code", "id", "region"]
    list_filter = ["region"]
    search_fields = ["country", "country_code", "id"]


@admin.register(AmazonAccount)
class AmazonAccountAdmin(OperateAdminMixin, SecretFieldsAdminMixin, admin.ModelAdmin):
    form = AmazonAccountForm
    lwa_client_secret_saved = saved_secret("lwa_client_secret", "LWA client secret")
    refresh_token_saved = saved_secret("refresh_token", "refresh token")
    auto_qty = switch("auto_update_qty", "auto Qty")
    inventory_sync = switch("inventory_sync_enabled", "inventory sync")
    fbm_orders = switch("sync_fbm_orders", "FBM orders")
    orders_stop = switch("orders_stop_with_sync", "orders stop with sync")
    list_display = [
        "name",
        "seller_id",
        "region",
        "marketplace_names",
        "auto_qty",
        "inventory_sync",
        "fbm_orders",
        "orders_stop",
    ]
    list_filter = ["region", "auto_update_qty", "inventory_sync_enabled", "sync_fbm_orders"]
    search_fields = ["name", "seller_id"]
    filter_horizontal = ["marketplaces"]
    readonly_fields = ["orders_synced_until", "created_at", "updated_at"]
    actions = ["test_connection", import_orders_now, "reconcile_now"]
    fieldsets = [
        (None, {"fields": ["name", "seller_id", "region", "marketplaces"]}),
        (
            "Settings",
            {
                "fields": [
                    "auto_update_qty",
                    "inventory_sync_enabled",
                    "sync_fbm_orders",
                    "orders_stop_with_sync",
                ]
            },
        ),
        (
            "Credentials (Login with Amazon)",
            {
                "fields": ["lwa_client_id", "lwa_client_secret", "refresh_token"],
                "description": "Secrets are stored encrypted and never shown again.",
            },
        ),
        ("Advanced", {"fields": ["endpoint", "token_url"], "classes": ["collapse"]}),
        (
            "History",
            {
                "fields": ["orders_synced_until", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("marketplaces")

    @admin.display(description="marketplaces")
    def marketplace_names(self, obj):
        return ", ".join(m.country for m in obj.marketplaces.all()) or "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            account_switches_changed(account=obj, changed_fields=form.changed_data)

    @admin.action(
        description="Reconcile now (read every Amazon quantity back, re-read Shopify)",
        permissions=["operate"],
    )
    def reconcile_now(self, request, queryset):
        """The hourly safety net, now, as a job (it covers every account and store)."""
        job = job_start(kind=JobKind.RECONCILE, acting_user=request.user, params={})
        return job_started_response(request, job)

    @admin.action(description="Test connection", permissions=["operate"])
    def test_connection(self, request, queryset):
        for account in queryset:
            report_checks(self, request, amazon_connection_check(account))


class LocationInline(admin.TabularInline):
    model = Location
    fields = ["name", "shopify_id", "is_active"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ShopifyStore)
class ShopifyStoreAdmin(OperateAdminMixin, SecretFieldsAdminMixin, admin.ModelAdmin):
    form = ShopifyStoreForm
    access_token_saved = saved_secret("access_token", "Admin API access token")
    client_secret_saved = saved_secret("client_secret", "client secret")
    webhook_secret_saved = saved_secret("webhook_secret", "webhook secret")
    list_display = [
        "name",
        "shop_domain",
        "auth_method",
        "api_version",
        "location_count",
        "variant_count",
        "catalogue_imported_at",
    ]
    search_fields = ["name", "shop_domain"]
    readonly_fields = [
        "catalogue_imported_at",
        "oauth_token_expires_at",
        "created_at",
        "updated_at",
    ]
    inlines = [LocationInline]
    actions = ["test_connection", "import_catalogue"]
    fieldsets = [
        (None, {"fields": ["name", "shop_domain", "api_version", "default_location"]}),
        (
            "Credentials",
            {
                "fields": [
                    "auth_method",
                    "access_token",
                    "client_id",
                    "client_secret",
                    "webhook_secret",
                ],
                "description": "Secrets are stored encrypted and never shown again.",
            },
        ),
        ("Advanced", {"fields": ["base_url"], "classes": ["collapse"]}),
        (
            "History",
            {
                "fields": [
                    "catalogue_imported_at",
                    "oauth_token_expires_at",
                    "created_at",
                    "updated_at",
                ],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _locations=Count("locations", distinct=True, filter=Q(locations__is_active=True)),
                _variants=Count("variants", distinct=True),
            )
        )

    @admin.display(description="active locations", ordering="_locations")
    def location_count(self, obj):
        return obj._locations

    @admin.display(description="variants", ordering="_variants")
    def variant_count(self, obj):
        return obj._variants

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "shop_domain" in form.changed_data:
            typed = {name for name in form.secret_fields if form.data.get(name, "").strip()}
            cleared = shopify_store_forget_secrets_of_old_domain(
                store=obj,
                previous_domain=form.initial["shop_domain"],
                keep=typed,
                acting_user=request.user,
            )
            if cleared:
                self.message_user(
                    request,
                    "The shop domain changed, so the credentials saved for the old shop were "
                    "cleared. Enter the new shop's access token (or client secret) and webhook "
                    "secret.",
                    messages.WARNING,
                )
        if not change:
            transaction.on_commit(lambda: connect_store_task.delay(obj.pk))
            self.message_user(
                request,
                "Connecting: Stocklink subscribes to the shop's webhooks and imports its "
                "catalogue in the background.",
                messages.INFO,
            )

    @admin.action(description="Test connection", permissions=["operate"])
    def test_connection(self, request, queryset):
        for store in queryset:
            report_checks(self, request, shopify_connection_check(store))

    @admin.action(description="Import the Shopify catalogue now", permissions=["operate"])
    def import_catalogue(self, request, queryset):
        """A job per store: the import pages through the whole catalogue."""
        jobs = [
            job_start(
                kind=JobKind.IMPORT_CATALOGUE, acting_user=request.user, params={"store_id": pk}
            )
            for pk in queryset.values_list("pk", flat=True)
        ]
        return jobs_started_response(request, jobs)


@admin.register(Location)
class LocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "store", "shopify_id", "is_active"]
    list_filter = ["store", "is_active"]
    search_fields = ["name"]
    list_select_related = ["store"]


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ["title", "sku", "tracked", "inventory_policy"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "store", "shopify_id"]
    list_filter = ["store"]
    search_fields = ["title"]
    list_select_related = ["store"]
    inlines = [VariantInline]


class InventoryLevelInline(admin.TabularInline):
    model = InventoryLevel
    fields = ["location", "available", "updated_at"]
    readonly_fields = fields
    extra = 0


class MetafieldInline(admin.TabularInline):
    model = MetafieldValue
    fields = ["namespace", "key", "value", "updated_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "sku", "store", "tracked", "inventory_policy", "available"]
    list_filter = ["store", "tracked", "inventory_policy"]
    search_fields = ["sku", "title", "product__title"]
    list_select_related = ["product", "store"]
    inlines = [InventoryLevelInline, MetafieldInline]
    # 300,000 variants (docs/BENCHMARKS.md): no COUNT(*) of the table on every page.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        # A subquery per row shown, not a GROUP BY over every variant before the page is cut.
        available = (
            InventoryLevel.objects.filter(variant=OuterRef("pk"), location__is_active=True)
            .order_by()
            .values("variant")
            .annotate(total=Sum("available"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(_available=Subquery(available, output_field=IntegerField()))
        )

    def get_search_results(self, request, queryset, search_term):
        """A SKU, typed whole or its start, is found on the SKU index; anything else falls back
        to the substring search of `search_fields`, each table on its trigram indexes."""
        by_sku = sku_first_search(queryset, search_term)
        if by_sku is not None:
            return by_sku, False
        found = indexed_search(queryset, self.search_fields, search_term)
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="available (active locations)", ordering="_available")
    def available(self, obj):
        return obj._available
