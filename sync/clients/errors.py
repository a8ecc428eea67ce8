"""Our own exceptions for anything that goes wrong across the wire.

Clients turn vendor errors into these, so callers never import a vendor SDK.
"""


class MarketplaceError(Exception):
    """The vendor answered with an error we cannot retry our way out of."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class AuthenticationFailed(MarketplaceError):
    """Credentials were refused (bad client id/secret, revoked token)."""


class NotFound(MarketplaceError):
    """The SKU, feed, document or object does not exist on the vendor's side."""


class TransientError(MarketplaceError):
    """A 5xx, a timeout or a dropped connection: retry later with back-off."""

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The vendor throttled us (HTTP 429, QuotaExceeded, THROTTLED)."""
