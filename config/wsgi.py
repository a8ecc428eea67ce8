"""The WSGI application gunicorn serves: Django's handler, and a leaner one for Shopify webhooks.

A webhook is a signed POST from a machine answered in text/plain: it needs no session, user,
messages, CSRF token (Shopify signs the body), Content Security Policy, static files or login
throttling. Its own handler runs only `WEBHOOK_MIDDLEWARE` (its latency histogram, security
headers) and then the same URLconf, view and request signals; every other path gets the whole
`MIDDLEWARE`. The middleware it skips cost a fifth of the webhook's CPU (docs/BENCHMARKS.md).
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

WEBHOOK_PATH = "/webhooks/shopify/"  # sync/urls.py under config/urls.py


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with `settings.WEBHOOK_MIDDLEWARE` instead of `MIDDLEWARE`."""

    def load_middleware(self, is_async=False):
        # BaseHandler reads settings.MIDDLEWARE; swapped only while this handler is built, at
        # import, before any request thread runs.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.WEBHOOK_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


django_application = get_wsgi_application()
webhook_application = WebhookHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO") == WEBHOOK_PATH:
        return webhook_application(environ, start_response)
    return django_application(environ, start_response)
