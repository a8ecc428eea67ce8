from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from .health import HealthView, WebHealthView
from .views import favicon, metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Browsers ask for /favicon.ico on every page whatever the page says.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("webhooks/", include("sync.urls")),
    path("health/", HealthView.as_view(), name="health"),
    path("health/web/", WebHealthView.as_view(), name="health_web"),
    path("metrics", metrics, name="metrics"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
