import pytest

from tests.factories import AdminUserFactory
from tests.sandbox_world import sandbox_world  # noqa: F401  (shared by end-to-end tests)


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client

