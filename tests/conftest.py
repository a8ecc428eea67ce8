import pytest

from tests.factories import AdminUserFactory


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
