"""Shopify Admin GraphQL transport: one session, pacing, retries and the access token.

One `requests.Session` per client, timeouts on every call, cost-aware pacing from Shopify's
`throttleStatus` (one limiter per shop and process), bounded retries with exponential back-off
on THROTTLED, 429, 5xx and dropped connections, and the client-credentials token obtained and
refreshed before it expires. Vendor errors become `sync.clients.errors` exceptions.

`shopify.py` builds the operations Stocklink needs on top of it.
"""

from __future__ import annotations

import codecs
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

import requests

from .errors import AuthenticationFailed, MarketplaceError, NotFound, RateLimited, TransientError
from .shopify_data import (
    ShopifyConfig,
)
from .shopify_queries import (
    BULK_RUN_MUTATION,
    BULK_STATUS_QUERY,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
MAX_QUERY_COST = 1000  # Shopify refuses a single query above this
JSONL_CHUNK = 1 << 20  # bytes read at a time from a bulk result (requests' lines read 512)
_JSON = json.JSONDecoder()


# --- pacing ----------------------------------------------------------------------------------


class CostLimiter:
    """What we know of one shop's leaky bucket, so requests wait instead of being throttled."""

    def __init__(self):
        self._lock = threading.Lock()
        self.maximum: float | None = None
        self.available: float = 0.0
        self.restore_rate: float = 0.0
        self._at = 0.0

    def _now_available(self, now: float) -> float:
        return min(self.maximum or 0.0, self.available + (now - self._at) * self.restore_rate)

    def reserve(self, cost: int) -> float:
        """Seconds to wait before sending a request of `cost`; the points are set aside."""
        with self._lock:
            if self.maximum is None or not self.restore_rate:
                return 0.0
            now = time.monotonic()
            available = self._now_available(now)
            wait = max(0.0, (cost - available) / self.restore_rate)
            # Book the points now, so concurrent threads of this process queue behind us.
            self.available = available - cost
            self._at = now
            return wait

    def update(self, status: dict) -> None:
        with self._lock:
            self.maximum = float(status["maximumAvailable"])
            self.available = float(status["currentlyAvailable"])
            self.restore_rate = float(status["restoreRate"])
            self._at = time.monotonic()


_limiters: dict[str, CostLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(shop_domain: str) -> CostLimiter:
    """The process-wide limiter of one shop (every client of that shop shares it)."""
    with _limiters_lock:
        return _limiters.setdefault(shop_domain, CostLimiter())


class ShopifyGraphQL:
    """Admin GraphQL requests for one shop. Not thread-safe: one client per thread or task.

    `token`/`token_expires_at` start from a client-credentials token the caller kept;
    `on_token(token, expires_at)` is called whenever a new one is obtained, to keep it.
    """

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        token: str | None = None,
        token_expires_at: datetime | None = None,
        on_token: Callable[[str, datetime], None] | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self._token = token
        self._token_expires_at = token_expires_at
        self._on_token = on_token
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.limiter = limiter_for(config.shop_domain)
        self._costs: dict[str, int] = {}  # query text → last requested cost
        self.last_cost: dict | None = None
        self.throttled = 0  # THROTTLED answers this client received

    def close(self) -> None:
        self.session.close()

    # -- auth --

    def access_token(self) -> str:
        """The token to send: the static one, or a client-credentials one (fetched if due)."""
        if self.config.access_token:
            return self.config.access_token
        if not self.config.uses_client_credentials:
            raise AuthenticationFailed("No Shopify access token or client credentials configured")
        due = self._token_expires_at is None or (
            self._token_expires_at - datetime.now(UTC) < TOKEN_REFRESH_MARGIN
        )
        if not self._token or due:
            self.refresh_token()
        return self._token

    def refresh_token(self) -> str:
        """Obtain a new token with the client-credentials grant (24 hours on Shopify)."""
        data = {
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "grant_type": "client_credentials",
        }
        try:
            response = self.session.post(self.config.token_url, data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TransientError(f"Shopify token request failed: {exc}") from exc
        if response.status_code >= 500:
            raise TransientError(
                f"Shopify token endpoint answered {response.status_code}",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise AuthenticationFailed(
                f"Shopify refused the client credentials: {response.text[:200]}",
                status=response.status_code,
            )
        body = response.json()
        self._token = body["access_token"]
        self._token_expires_at = datetime.now(UTC) + timedelta(seconds=int(body["expires_in"]))
        if self._on_token is not None:
            self._on_token(self._token, self._token_expires_at)
        return self._token

    # -- transport --

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2**attempt)
        return base * (0.5 + random.random() / 2)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """Run one query or mutation; return its `data`. Retries what can be retried."""
        refreshed = False
        attempt = 0
        while True:
            estimate = self._costs.get(query)
            if estimate:
                wait = self.limiter.reserve(estimate)
                if wait > 0:
                    self._sleep(wait)
            try:
                response = self.session.post(
                    self.config.graphql_url,
                    json={"query": query, "variables": variables or {}},
                    headers={
                        "X-Shopify-Access-Token": self.access_token(),
                        "Accept": "application/json",
                    },
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.max_retries:
                    raise TransientError(f"Shopify unreachable: {exc}") from exc
                self._sleep(self._delay(attempt))
                attempt += 1
                continue

            status = response.status_code
            if status == 401:
                if self.config.uses_client_credentials and not refreshed:
                    refreshed = True  # the token was revoked or expired early: one new one
                    self.refresh_token()
                    continue
                raise AuthenticationFailed("Shopify refused the access token", status=401)
            if status == 403:
                raise AuthenticationFailed(
                    f"Shopify denied access (scopes?): {response.text[:200]}", status=403
                )
            if status == 404:
                raise NotFound(f"Shop {self.config.shop_domain} not found", status=404)
            if status == 429 or status >= 500:
                retry_after = _retry_after(response) or self._delay(attempt)
                if attempt >= self.max_retries:
                    error = RateLimited if status == 429 else TransientError
                    raise error(
                        f"Shopify answered {status}", retry_after=retry_after, status=status
                    )
                self._sleep(retry_after)
                attempt += 1
                continue
            if status != 200:
                raise MarketplaceError(
                    f"Shopify answered {status}: {response.text[:200]}", status=status
                )

            body = response.json()
            cost = (body.get("extensions") or {}).get("cost")
            if cost:
                self.last_cost = cost
                if cost.get("requestedQueryCost"):
                    self._costs[query] = int(cost["requestedQueryCost"])
                if cost.get("throttleStatus"):
                    self.limiter.update(cost["throttleStatus"])
            errors = body.get("errors")
            if errors:
                codes = [(e.get("extensions") or {}).get("code") for e in errors]
                if "THROTTLED" in codes:
                    self.throttled += 1
                    wait = _throttle_wait(cost) or self._delay(attempt)
                    if attempt >= self.max_retries:
                        raise RateLimited("Shopify throttled the query", retry_after=wait)
                    self._sleep(wait)
                    attempt += 1
                    continue
                if "INTERNAL_SERVER_ERROR" in codes and attempt < self.max_retries:
                    self._sleep(self._delay(attempt))
                    attempt += 1
                    continue
                message = "; ".join(str(e.get("message")) for e in errors)
                raise MarketplaceError(f"Shopify GraphQL error: {message}", code=codes[0] or "")
            return body.get("data") or {}

    # -- generic helpers --

    def paginate(
        self, query: str, path: str | Iterable[str], variables: dict | None = None
    ) -> Iterator[dict]:
        """Every node of the connection at `path` (e.g. "productVariants"), page after page.

        The query takes `$after: String` and selects `pageInfo { hasNextPage endCursor }` and
        `nodes` on that connection.
        """
        keys = path.split(".") if isinstance(path, str) else list(path)
        variables = dict(variables or {})
        variables["after"] = None
        while True:
            data = self.execute(query, variables)
            connection = data
            for key in keys:
                connection = (connection or {}).get(key)
            if not connection:
                return
            yield from connection.get("nodes") or [e["node"] for e in connection.get("edges", [])]
            page_info = connection["pageInfo"]
            if not page_info["hasNextPage"]:
                return
            variables["after"] = page_info["endCursor"]

    def run_bulk_query(
        self, query: str, *, poll_interval: float = 1.0, timeout: float = 3600.0
    ) -> Iterator[dict]:
        """Start a bulk query, wait for it, and yield the rows of its JSONL result.

        Rows of nested connections carry `__parentId`; they may come before or after their
        parent (Shopify does not group them from 2026-01).
        """
        operation_id = self.start_bulk_query(query)
        yield from self.bulk_query_rows(operation_id, poll_interval=poll_interval, timeout=timeout)

    def start_bulk_query(self, query: str) -> str:
        """Start a bulk query and return its operation's id (Shopify runs it meanwhile)."""
        data = self.execute(BULK_RUN_MUTATION, {"query": query})
        payload = data["bulkOperationRunQuery"]
        if payload["userErrors"]:
            raise MarketplaceError(
                f"Bulk query refused: {payload['userErrors'][0]['message']}",
                code=payload["userErrors"][0].get("code") or "",
            )
        return payload["bulkOperation"]["id"]

    def bulk_query_rows(
        self, operation_id: str, *, poll_interval: float = 1.0, timeout: float = 3600.0
    ) -> Iterator[dict]:
        """Wait for a started bulk query, then yield the rows of its JSONL result."""
        deadline = time.monotonic() + timeout
        interval = poll_interval
        while True:
            operation = self.execute(BULK_STATUS_QUERY, {"id": operation_id})["bulkOperation"]
            status = operation["status"]
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                raise MarketplaceError(
                    f"Bulk operation {status.lower()}: {operation.get('errorCode')}",
                    code=operation.get("errorCode") or status,
                )
            if time.monotonic() > deadline:
                raise TransientError(f"Bulk operation {operation_id} still {status}")
            self._sleep(interval)
            interval = min(interval * 1.5, 5.0)
        if not operation.get("url"):
            return  # nothing matched
        try:
            with self.session.get(operation["url"], stream=True, timeout=self.timeout) as resp:
                if resp.status_code != 200:
                    raise TransientError(
                        f"Bulk result download answered {resp.status_code}",
                        status=resp.status_code,
                    )
                yield from jsonl_rows(resp.iter_content(chunk_size=JSONL_CHUNK))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"Bulk result download failed: {exc}") from exc

    # -- what the sync engine uses --


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _throttle_wait(cost: dict | None) -> float | None:
    if not cost or not cost.get("throttleStatus"):
        return None
    status = cost["throttleStatus"]
    needed = float(cost.get("requestedQueryCost") or 0) - float(status["currentlyAvailable"])
    rate = float(status["restoreRate"]) or 1.0
    return max(0.05, needed / rate)


def jsonl_rows(chunks: Iterable[bytes]) -> Iterator[dict]:
    """The objects of a JSONL body that arrives in chunks of bytes.

    Each chunk is decoded once (not each line), and each line is parsed with the decoder's
    `raw_decode`, which skips `json.loads`'s per-call checks (about twice as fast on Shopify's
    short lines); a line holding anything after its object is refused as `json.loads` would.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    parse = _JSON.raw_decode
    rest = ""
    for chunk in chunks:
        lines = (rest + decoder.decode(chunk)).split("\n")
        rest = lines.pop()
        for line in lines:
            if line := line.strip():
                row, end = parse(line)
                if end != len(line):
                    raise json.JSONDecodeError("Extra data", line, end)
                yield row
    if rest := (rest + decoder.decode(b"", final=True)).strip():
        yield json.loads(rest)
