"""Stocklink's admin site: navigation as a merchant thinks, the sync-health home page, and the
problem banners on every page. Models register on it as usual (`admin.site` is this site).
"""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse

from sync.health import push_activity, sync_health, sync_problems, webhook_health
from sync.queues import queue_depths
from sync.ratelimit import headroom

from .tasks import last_heartbeat

# (group, [(app_label, model_name), ...]) in the order a merchant looks for them; models not
# named here (users, login attempts, jobs, the sandbox) keep Django's grouping, after these.
NAVIGATION = [
    ("Listings & Selling Lists", [("selling_lists", "listing"), ("selling_lists", "sellinglist")]),
    ("Global Profiles", [("profiles", "globalprofile")]),
    ("Orders", [("sync", "amazonorder"), ("sync", "orderstockentry")]),
    (
        "Accounts & stores",
        [
            ("accounts", "amazonaccount"),
            ("accounts", "shopifystore"),
            ("accounts", "location"),
            ("accounts", "product"),
            ("accounts", "variant"),
            ("accounts", "marketplace"),
        ],
    ),
    (
        "Logs",
        [
            ("sync", "qtypush"),
            ("sync", "amazonfeed"),
            ("sync", "webhookevent"),
            ("sync", "webhookrejection"),
        ],
    ),
]
# Plural names that Django would get wrong from the model's name.
PLURALS = {("sync", "qtypush"): "Qty pushes"}
SANDBOX_NOTE = " (simulated — off in production)"


class StocklinkAdminSite(admin.AdminSite):
    site_header = "Stocklink"
    site_title = "Stocklink"
    index_title = "Sync health"
    index_template = "admin/sync_health.html"

    def get_urls(self):
        getting_started = self.admin_view(self.getting_started_view)
        return [
            path("getting-started/", getting_started, name="getting_started"),
            *super().get_urls(),
        ]

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_active and user.is_staff:
            context["sync_problems"] = [
                {"kind": p.kind, "text": p.text, "url": _url(p.url_name, p.query)}
                for p in sync_problems(heartbeat=last_heartbeat())
            ]
        return context

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        models = {
            (app["app_label"], m["object_name"].lower()): m for app in apps for m in app["models"]
        }
        for key, name in PLURALS.items():
            if key in models:
                models[key]["name"] = name
        placed = set()
        groups = [
            {
                "name": "Sync health",
                "app_label": "sync_health",
                "app_url": reverse("admin:index", current_app=self.name),
                "has_module_perms": True,
                "models": [
                    _link("Sync health", reverse("admin:index", current_app=self.name) + "#health"),
                    _link(
                        "Getting started", reverse("admin:getting_started", current_app=self.name)
                    ),
                ],
            }
        ]
        for title, keys in NAVIGATION:
            entries = [models[key] for key in keys if key in models]
            placed.update(keys)
            if entries:
                groups.append(
                    {
                        "name": title,
                        "app_label": keys[0][0],
                        "app_url": entries[0]["admin_url"],
                        "has_module_perms": True,
                        "models": entries,
                    }
                )
        for app in apps:
            rest = [
                m
                for m in app["models"]
                if (app["app_label"], m["object_name"].lower()) not in placed
            ]
            if not rest:
                continue
            name = app["name"] + (SANDBOX_NOTE if app["app_label"].startswith("sandbox") else "")
            groups.append({**app, "name": name, "models": rest})
        return groups

    def index(self, request, extra_context=None):
        markets = sync_health()
        sellers = sorted({(m.account.seller_id, m.account.region) for m in markets})
        budgets = headroom(sellers)
        for market in markets:
            market.headroom = budgets.get((market.account.seller_id, market.account.region), [])
        context = {
            "markets": markets,
            "queues": queue_depths(),
            "stores": webhook_health(),
            "activity_day": push_activity(hours=24),
            "activity_week": push_activity(hours=24 * 7),
            "sandbox_enabled": settings.SANDBOX_ENABLED,
            **(extra_context or {}),
        }
        return super().index(request, context)

    def getting_started_view(self, request):
        context = {
            **self.each_context(request),
            "title": "Getting started",
            "sandbox_enabled": settings.SANDBOX_ENABLED,
        }
        return TemplateResponse(request, "admin/getting_started.html", context)


def _link(name: str, url: str) -> dict:
    return {"name": name, "object_name": name.replace(" ", ""), "admin_url": url, "perms": {}}


def _url(url_name: str, query: str) -> str:
    if not url_name:
        return ""
    return reverse(url_name) + (f"?{query}" if query else "")
