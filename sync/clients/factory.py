"""The one seam between the sync engine and the vendors: every service gets its clients here.

`amazon_client(account, marketplace_id)` and `shopify_client(store)` map our models to the real
clients' configs. Tests hand in fakes for the duration of a block with `substitute(...)`
(tests/sync/fakes.py holds the fakes); nothing else patches how a client is made.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils import timezone

from accounts.models import AmazonAccount, ShopifyStore

from .. import conf
from .amazon import AmazonClient
from .amazon_data import AmazonConfig
from .protocols import AmazonApi, ShopifyApi
from .shopify import ShopifyClient
from .shopify_data import ShopifyConfig

AmazonFactory = Callable[[AmazonAccount, str], AmazonApi]
ShopifyFactory = Callable[[ShopifyStore], ShopifyApi]

# Set only by `substitute` (tests): the factories that replace the real clients.
_substitutes: dict[str, Callable] = {}


@contextmanager
def substitute(
    *, amazon: AmazonFactory | None = None, shopify: ShopifyFactory | None = None
) -> Iterator[None]:
    """Within the block, every service gets its clients from these factories (tests only)."""
    previous = dict(_substitutes)
    if amazon is not None:
        _substitutes["amazon"] = amazon
    if shopify is not None:
        _substitutes["shopify"] = shopify
    try:
        yield
    finally:
        _substitutes.clear()
        _substitutes.update(previous)


def amazon_client(
    account: AmazonAccount, marketplace_id: str | None = None, *, interactive: bool = False
) -> AmazonApi:
    """A client for one seller and marketplace (the account's first one when not given).

    `interactive`: someone waits for the answer, so every call is bounded by a short timeout.
    """
    if marketplace_id is None:
        first = account.marketplaces.order_by("pk").first()
        marketplace_id = first.pk if first else "ATVPDKIKX0DER"
    if "amazon" in _substitutes:
        return _substitutes["amazon"](account, marketplace_id)
    return AmazonClient(
        AmazonConfig(
            seller_id=account.seller_id,
            marketplace_id=marketplace_id,
            refresh_token=account.refresh_token,
            client_id=account.lwa_client_id,
            client_secret=account.lwa_client_secret,
            region=account.region,
            endpoint=account.endpoint,
            token_url=account.token_url,
        ),
        **({"timeout": conf.interactive_timeout()} if interactive else {}),
    )


def shopify_client(store: ShopifyStore, *, interactive: bool = False) -> ShopifyApi:
    """A client for one shop; a client-credentials token it obtains is kept on the store.

    `interactive`: someone waits for the answer: short timeouts and few retries.
    """
    if "shopify" in _substitutes:
        return _substitutes["shopify"](store)
    uses_grant = store.auth_method == ShopifyStore.AuthMethod.CLIENT_CREDENTIALS

    def keep_token(token: str, expires_at) -> None:
        ShopifyStore.objects.filter(pk=store.pk).update(
            oauth_token=token, oauth_token_expires_at=expires_at
        )

    token_valid = bool(
        uses_grant
        and store.oauth_token
        and store.oauth_token_expires_at
        and store.oauth_token_expires_at > timezone.now()
    )
    return ShopifyClient(
        ShopifyConfig(
            shop_domain=store.shop_domain,
            access_token="" if uses_grant else store.access_token,
            client_id=store.client_id if uses_grant else "",
            client_secret=store.client_secret if uses_grant else "",
            api_version=store.api_version,
            base_url=store.base_url,
        ),
        token=store.oauth_token if token_valid else None,
        token_expires_at=store.oauth_token_expires_at if token_valid else None,
        on_token=keep_token if uses_grant else None,
        **({"timeout": (conf.interactive_timeout(),) * 2, "max_retries": 2} if interactive else {}),
    )
