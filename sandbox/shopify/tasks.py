"""Celery tasks of the simulated Shopify: webhook delivery and bulk operations."""

import logging

import requests
from celery import shared_task
from django.utils import timezone

from . import bulk, webhooks
from .models import BulkOperation, WebhookDelivery, WebhookKnobs

logger = logging.getLogger(__name__)

# Shopify's delivery timeouts: 1 s to connect, 5 s for the answer.
TIMEOUT = (1.0, 5.0)


@shared_task(bind=True, max_retries=None, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> None:
    """POST one delivery, signed; retried with exponential back-off until max_attempts."""
    delivery = (
        WebhookDelivery.objects.select_related("shop", "subscription")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status not in (
        WebhookDelivery.Status.PENDING,
        WebhookDelivery.Status.FAILED,
    ):
        return
    knobs = WebhookKnobs.load()
    body = _encode(webhooks.current_payload(delivery))
    headers = webhooks.headers_for(delivery, body)
    delivery.attempts += 1
    delivery.body = body.decode("utf-8")
    try:
        response = requests.post(delivery.uri, data=body, headers=headers, timeout=TIMEOUT)
        delivery.response_status = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = "" if ok else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        ok = False
        delivery.response_status = None
        delivery.last_error = f"{type(exc).__name__}: {exc}"
    if ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.attempts >= knobs.max_attempts:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    if not ok and delivery.attempts < knobs.max_attempts:
        countdown = knobs.retry_base_seconds * 2 ** (delivery.attempts - 1)
        raise self.retry(countdown=countdown)


def _encode(payload: dict) -> bytes:
    import json

    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


@shared_task(ignore_result=True)
def run_bulk_operation(operation_id: int) -> None:
    """Run a bulk query and publish its JSONL file."""
    operation = BulkOperation.objects.select_related("shop").filter(pk=operation_id).first()
    if operation is None or operation.status != BulkOperation.Status.CREATED:
        return
    try:
        bulk.run(operation)
    except Exception:
        logger.exception("bulk operation %s failed", operation_id)
