"""Operational endpoints that belong to the deployment, not to an app."""

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CollectorRegistry, generate_latest

from sync.metrics import StocklinkCollector

# Our own metrics come from the database at scrape time (sync/metrics.py), so they are not in
# django-prometheus's registry, which in multiprocess mode holds only gunicorn's own processes.
_APP_METRICS = CollectorRegistry(auto_describe=False)
_APP_METRICS.register(StocklinkCollector())


def metrics(request):
    """Prometheus metrics, for a scraper holding STOCKLINK_METRICS_TOKEN (docs/deployment.md).

    Without a token configured the page exists only in DEBUG (the demo): request counts and
    latencies by view are nobody else's business.
    """
    token = settings.STOCKLINK_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not constant_time_compare(given, f"Bearer {token}"):
            response = HttpResponse("Unauthorized.", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.DEBUG:
        raise Http404
    response = ExportToDjangoView(request)
    response.content += generate_latest(_APP_METRICS)
    return response


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the static icon."""
    return HttpResponsePermanentRedirect(static("stocklink/favicon.svg"))
