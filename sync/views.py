"""HTTP endpoints of the sync engine: Shopify webhooks."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .inbound.webhooks import webhook_receive


@csrf_exempt  # Shopify signs the body (HMAC) instead; it cannot send a CSRF token
@require_POST
def shopify_webhook(request):
    """Verify, dedupe, store and queue; answer within milliseconds (Shopify waits 5 s)."""
    outcome = webhook_receive(headers=request.headers, raw_body=request.body)
    return HttpResponse(outcome.message, status=outcome.status, content_type="text/plain")
