"""HTTP endpoints of the simulated Shopify: Admin GraphQL, client-credentials grant, bulk files."""

import json
import secrets
from datetime import timedelta

from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import engine
from .bulk import result_path
from .models import ACCESS_SCOPES, API_VERSION, AccessToken, BulkOperation, Shop

TOKEN_LIFETIME = timedelta(hours=24)
INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def _authenticate(request, shop: Shop) -> bool:
    token = request.headers.get("X-Shopify-Access-Token", "")
    if not token:
        return False
    if secrets.compare_digest(token, shop.access_token):
        return True
    return AccessToken.objects.filter(
        shop=shop, token=token, expires_at__gt=timezone.now()
    ).exists()


def _request_body(request) -> tuple[str | None, dict | None, str | None]:
    content_type = request.content_type or ""
    if content_type == "application/graphql":
        return request.body.decode("utf-8"), None, None
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None, None, None
    if not isinstance(payload, dict):
        return None, None, None
    variables = payload.get("variables")
    if isinstance(variables, str):  # some clients send variables as a JSON string
        try:
            variables = json.loads(variables or "null")
        except ValueError:
            variables = None
    return payload.get("query"), variables, payload.get("operationName")


@csrf_exempt
def graphql(request, shop, version):
    """POST /sandbox/shopify/<shop>/admin/api/<version>/graphql.json"""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    shop_row = Shop.objects.filter(domain=shop).first()
    if shop_row is None:
        return JsonResponse({"errors": "Not Found"}, status=404)
    if not _authenticate(request, shop_row):
        return JsonResponse(INVALID_TOKEN, status=401)
    if version != API_VERSION:
        # Shopify falls a retired or unknown version forward; the sandbox only speaks 2026-07.
        return JsonResponse({"errors": "Not Found"}, status=404)
    query, variables, operation_name = _request_body(request)
    if not isinstance(query, str) or not query.strip():
        return JsonResponse(
            {"errors": {"query": "Required parameter missing or invalid"}}, status=400
        )
    body = engine.run(
        shop=shop_row,
        request=request,
        query=query,
        variables=variables if isinstance(variables, dict) else None,
        operation_name=operation_name,
    )
    response = JsonResponse(body)
    response["X-Shopify-API-Version"] = API_VERSION
    return response


@csrf_exempt
def access_token(request, shop):
    """POST /sandbox/shopify/<shop>/admin/oauth/access_token (client-credentials grant)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if request.content_type == "application/json":
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            params = {}
    else:
        params = request.POST
    shop_row = Shop.objects.filter(domain=shop).first()
    if shop_row is None:
        return JsonResponse({"errors": "Not Found"}, status=404)
    if params.get("grant_type") != "client_credentials":
        return JsonResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "The grant type must be client_credentials.",
            },
            status=400,
        )
    client_id = str(params.get("client_id") or "")
    client_secret = str(params.get("client_secret") or "")
    if not (
        secrets.compare_digest(client_id, shop_row.client_id)
        and secrets.compare_digest(client_secret, shop_row.client_secret)
    ):
        return JsonResponse(
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed: unknown client_id or "
                "wrong client_secret.",
            },
            status=400,
        )
    token = AccessToken.objects.create(
        shop=shop_row,
        token=f"shpat_{secrets.token_hex(16)}",
        expires_at=timezone.now() + TOKEN_LIFETIME,
    )
    return JsonResponse(
        {
            "access_token": token.token,
            "scope": ACCESS_SCOPES,
            # Shopify answers one second short of 24 hours.
            "expires_in": int(TOKEN_LIFETIME.total_seconds()) - 1,
        }
    )


def bulk_file(request, shop, pk, token):
    """The JSONL result of a bulk operation: an unguessable URL, no token, as Shopify's."""
    operation = get_object_or_404(BulkOperation, pk=pk, shop__domain=shop)
    if not secrets.compare_digest(token, operation.file_token):
        raise Http404
    path = result_path(operation)
    if operation.status != BulkOperation.Status.COMPLETED or not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), content_type="application/jsonl")
