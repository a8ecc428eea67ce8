"""The Shopify webhook's answer time, as one Prometheus histogram recorded by a middleware.

    WebhookTimingMiddleware   first in WEBHOOK_MIDDLEWARE (config/wsgi.py's webhook handler)

django-prometheus's middleware pair records about ten series per request (counts by method,
transport, view and status, body sizes, two latency histograms): without it the webhook took
7–9 % less CPU, 1,026–1,043 webhooks a second against 954–980 (docs/BENCHMARKS.md). The
webhook's handler records this one histogram instead, by status class; the alert on webhook
latency reads it (docs/deployment.md). Every other path keeps django-prometheus.
"""

from __future__ import annotations

import time

from prometheus_client import Histogram

WEBHOOK_SECONDS = Histogram(
    "stocklink_webhook_request_seconds",
    "Time to answer a Shopify webhook delivery, by HTTP status class.",
    ["status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# Bound once: a label lookup per request costs more than the observation.
_BY_CLASS = {code: WEBHOOK_SECONDS.labels(f"{code}xx") for code in (2, 3, 4, 5)}


class WebhookTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        _BY_CLASS.get(response.status_code // 100, _BY_CLASS[5]).observe(
            time.perf_counter() - start
        )
        return response
