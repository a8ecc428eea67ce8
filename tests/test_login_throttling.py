"""Login throttling (django-axes): guessing a password stops after a few tries."""

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def log_in(client, password):
    return client.post("/admin/login/?next=/admin/", {"username": "merchant", "password": password})


def is_logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_after_the_failure_limit_even_the_right_password_is_refused(client):
    UserFactory(username="merchant")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-guess").status_code == 200  # the form again, with an error
    assert log_in(client, "wrong-guess").status_code == 429  # the last failure allowed

    response = log_in(client, PASSWORD)

    assert response.status_code == 429
    assert "too many login attempts" in response.content.decode()
    assert not is_logged_in(client)


def test_a_lockout_is_lifted_by_axes_reset(client):
    UserFactory(username="merchant")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong-guess")

    call_command("axes_reset_username", "merchant")

    assert log_in(client, PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_a_few_mistakes_then_the_right_password_logs_in_and_clears_the_count(client):
    UserFactory(username="merchant")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "typo")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    # The success reset the count: as many mistakes again still do not lock the user out.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "typo")
    assert log_in(client, PASSWORD).status_code == 302


def test_force_login_in_tests_is_not_throttled(client):
    user = UserFactory(username="merchant", is_superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong-guess")
    client.force_login(user)
    assert is_logged_in(client)
