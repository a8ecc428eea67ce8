import pytest

from accounts.marketplaces import MARKETPLACES
from tests.factories import AdminUserFactory
from tests.sandbox_world import sandbox_world  # noqa: F401  (shared by end-to-end tests)


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def reference_data(request):
    """Bring back the data migrations' rows after a transactional test's flush.

    Transactional tests (live_server, real workers) empty every table when they end; the
    marketplaces and the default profile must be there for the next one.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and marker.kwargs.get("transaction"))
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from accounts.models import Marketplace
    from profiles.models import GlobalProfile

    Marketplace.objects.bulk_create(
        [
            Marketplace(id=m.id, country_code=m.country_code, country=m.country, region=m.region)
            for m in MARKETPLACES
        ],
        ignore_conflicts=True,
    )
    if not GlobalProfile.objects.filter(is_default=True).exists():
        GlobalProfile.objects.create(name="Default — Shopify stock", is_default=True)
