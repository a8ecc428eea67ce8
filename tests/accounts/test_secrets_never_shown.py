"""Saved secrets never reach a page: not for admins, not for view-only staff, on no admin page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import AmazonAccountFactory, ShopifyStoreFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRETS = {
    "lwa_client_secret": "amzn1.oa2-cs.v1.lwa-client-secret-9F2A",
    "refresh_token": "Atzr|IwEBIrefresh-token-never-shown-7C3D",
    "access_token": "shpat_access-token-never-shown-0000B1E5",
    "client_secret": "shpss_client-secret-never-shown-0000D4A6",
    "webhook_secret": "webhook-signing-secret-never-shown-F00D",
}


@pytest.fixture
def saved():
    account = AmazonAccountFactory(
        lwa_client_secret=SECRETS["lwa_client_secret"], refresh_token=SECRETS["refresh_token"]
    )
    store = ShopifyStoreFactory(
        access_token=SECRETS["access_token"],
        client_id="client-id",
        client_secret=SECRETS["client_secret"],
        webhook_secret=SECRETS["webhook_secret"],
    )
    return account, store


@pytest.fixture
def viewer_client(client):
    user = UserFactory(username="viewer")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_amazonaccount", "view_shopifystore"])
    )
    client.force_login(user)
    return client


def pages(account, store):
    for model, obj in (("amazonaccount", account), ("shopifystore", store)):
        yield reverse(f"admin:accounts_{model}_changelist")
        yield reverse(f"admin:accounts_{model}_add")
        for view in ("change", "history", "delete"):
            yield reverse(f"admin:accounts_{model}_{view}", args=[obj.pk])


def assert_no_secret(html: str, url: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in html, f"{name} rendered on {url}"


def test_view_only_staff_see_that_secrets_are_saved_but_never_the_secrets(saved, viewer_client):
    account, store = saved
    for url in pages(account, store):
        response = viewer_client.get(url)
        assert_no_secret(response.content.decode(), url)
    html = viewer_client.get(
        reverse("admin:accounts_amazonaccount_change", args=[account.pk])
    ).content.decode()
    # Read-only pages say that the secret is saved, and only its last four characters.
    assert "saved (ends …9F2A)" in html and "saved (ends …7C3D)" in html
    html = viewer_client.get(
        reverse("admin:accounts_shopifystore_change", args=[store.pk])
    ).content.decode()
    assert "saved (ends …B1E5)" in html and "saved (ends …F00D)" in html


def test_view_only_staff_cannot_open_add_pages(saved, viewer_client):
    assert viewer_client.get(reverse("admin:accounts_amazonaccount_add")).status_code == 403


def test_admins_get_write_only_inputs_and_never_the_secrets(saved, admin_client):
    account, store = saved
    for url in pages(account, store):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode(), url)
    html = admin_client.get(
        reverse("admin:accounts_amazonaccount_change", args=[account.pk])
    ).content.decode()
    assert 'type="password" name="refresh_token"' in html
    assert "Saved (ends …7C3D). Type a new value to replace it" in html


def test_a_short_secret_is_only_said_to_be_saved(viewer_client):
    account = AmazonAccountFactory(refresh_token="Atzr|short")
    html = viewer_client.get(
        reverse("admin:accounts_amazonaccount_change", args=[account.pk])
    ).content.decode()
    assert "Atzr|short" not in html and "…hort" not in html
    assert ">saved<" in html


def test_a_rejected_form_does_not_echo_the_secret_typed_in(admin_client):
    typed = "Atzr|typed-in-and-rejected-secret-1234"
    response = admin_client.post(
        reverse("admin:accounts_amazonaccount_add"),
        {"name": "", "region": "NA", "refresh_token": typed, "lwa_client_secret": typed},
    )
    assert response.status_code == 200
    assert typed not in response.content.decode()
