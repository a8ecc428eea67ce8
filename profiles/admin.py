from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from selling_lists.admin import rule_change_url
from sync.outbox.actions import rule_change_hold_soon
from sync.selectors import profile_preview

from .forms import GlobalProfileForm
from .models import GlobalProfile

# Fields whose change leaves every Result as it was: saving only these needs no confirmation.
NOT_THE_RULE = frozenset({"name", "is_default"})


@admin.register(GlobalProfile)
class GlobalProfileAdmin(admin.ModelAdmin):
    form = GlobalProfileForm
    change_form_template = "admin/profiles/globalprofile/change_form.html"
    list_display = [
        "name",
        "is_default",
        "describe",
        "source",
        "missing_stock",
        "selling_list_count",
    ]
    list_filter = ["mode", "source", "is_default"]
    search_fields = ["name"]
    filter_horizontal = ["locations"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "is_default"]}),
        ("Item Qty mode", {"fields": ["mode", "quantity"]}),
        (
            "Adjustments for stock-based modes",
            {
                "fields": ["percentage", "keep_one", "out_of_stock_threshold", "max_quantity"],
                "description": "Applied in this order: buffer, percentage, threshold, maximum.",
            },
        ),
        (
            "Where the stock comes from",
            {
                "fields": [
                    "source",
                    "metafield_key",
                    "use_warehouse",
                    "locations",
                    "missing_stock",
                    "missing_stock_quantity",
                ],
            },
        ),
        ("Orders", {"fields": ["fixed_after_sale"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lists=Count("selling_lists"))

    @admin.display(description="rule")
    def describe(self, obj):
        return obj.describe()

    @admin.display(description="Selling Lists", ordering="_lists")
    def selling_list_count(self, obj):
        return obj._lists

    def has_delete_permission(self, request, obj=None):
        # The default profile stays: Selling Lists without a profile rely on it.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="profiles_globalprofile_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The "Result" preview for the form as it stands, before it is saved."""
        if request.method != "POST":
            return HttpResponseBadRequest("POST the profile form to preview it.")
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        object_id = request.POST.get("_object_id") or None
        instance = self.get_object(request, object_id) if object_id else None
        form = self.get_form(request, instance)(request.POST, instance=instance)
        context = profile_preview(form)
        return TemplateResponse(request, "profiles/result_preview.html", context)

    def save_model(self, request, obj, form, change):
        request._rule_changed = bool(set(form.changed_data) - NOT_THE_RULE)
        super().save_model(request, obj, form, change)

    def response_change(self, request, obj):
        # Flow 5: show what the change does to linked listings, then confirm to send it.
        if getattr(request, "_rule_changed", False) and obj.selling_lists.exists():
            # Until it is confirmed, listings whose Result moved say so ("Not now" included).
            rule_change_hold_soon(profile_id=obj.pk)
            self.message_user(request, f"“{obj}” was saved. Review what it changes on Amazon.")
            return HttpResponseRedirect(rule_change_url(profile=obj.pk))
        return super().response_change(request, obj)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["result_preview"] = profile_preview(context["adminform"].form, profile=obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)
