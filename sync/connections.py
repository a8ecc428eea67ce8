""" "Test connection": call each vendor with the saved credentials and say plainly what works."""

from dataclasses import dataclass

from accounts.models import AmazonAccount, ShopifyStore

from .clients.errors import AuthenticationFailed, MarketplaceError, TransientError
from .clients.factory import amazon_client, shopify_client


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


def _explain(error: MarketplaceError, vendor: str) -> str:
    if isinstance(error, AuthenticationFailed):
        return f"{vendor} refused the credentials: {error.message}"
    if isinstance(error, TransientError):
        return f"{vendor} could not be reached right now: {error.message}"
    return f"{vendor} answered with an error: {error.message}"


def amazon_connection_check(account: AmazonAccount) -> list[ConnectionCheck]:
    """One check per marketplace of the account."""
    checks = []
    marketplaces = list(account.marketplaces.all()) or [None]
    for marketplace in marketplaces:
        try:
            client = amazon_client(
                account, marketplace.pk if marketplace else None, interactive=True
            )
            try:
                message = client.test_connection()
            finally:
                client.close()
            if marketplace:
                message = message.replace(f"marketplace {marketplace.pk}", str(marketplace))
            checks.append(ConnectionCheck(True, f"{account}: {message}"))
        except MarketplaceError as error:
            where = f" in {marketplace}" if marketplace else ""
            checks.append(ConnectionCheck(False, f"{account}{where}: {_explain(error, 'Amazon')}"))
    return checks


def shopify_connection_check(store: ShopifyStore) -> list[ConnectionCheck]:
    """The shop answers with our credentials; its locations and webhooks are listed."""
    client = shopify_client(store, interactive=True)
    try:
        shop = client.test_connection()
        locations = client.locations()
        webhooks = client.webhooks()
    except MarketplaceError as error:
        return [ConnectionCheck(False, f"{store}: {_explain(error, 'Shopify')}")]
    finally:
        client.close()
    active = sum(1 for loc in locations if loc.is_active)
    checks = [
        ConnectionCheck(
            True,
            f"{store}: connected to {shop['name']} ({shop['domain']}), "
            f"{active} active location(s).",
        )
    ]
    if webhooks:
        checks.append(ConnectionCheck(True, f"{store}: {len(webhooks)} webhook subscription(s)."))
    else:
        checks.append(
            ConnectionCheck(
                False,
                f"{store}: no webhook subscriptions — stock changes "
                "will only arrive with the periodic reconcile.",
            )
        )
    return checks
