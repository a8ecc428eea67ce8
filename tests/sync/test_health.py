"""Sync health (sync/health.py): the problem banners and the home page read the seller circuit,
in a fixed number of queries."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sync.health import sync_health, sync_problems
from sync.models import QtyPush
from sync.outbound.circuit import circuit_close, circuit_refused, circuit_reset, circuit_trip
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def kinds(problems):
    return [p.kind for p in problems if p.kind in ("credentials", "unreachable")]


def account_with_a_push(name):
    listing = ListingFactory(selling_list__amazon_account__name=name)
    QtyPush.objects.create(
        listing=listing, account=listing.amazon_account, quantity=3, reason="manual"
    )
    return listing.amazon_account


def test_refused_credentials_show_a_banner_until_the_account_is_saved_again():
    account = account_with_a_push("Amazon US")
    circuit_refused(account, "invalid_grant")
    problems = sync_problems(heartbeat=time.time())
    assert kinds(problems) == ["credentials"]
    assert "refuses the credentials of Amazon US" in problems[0].text

    circuit_reset(account)
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_an_open_circuit_shows_amazon_unreachable_with_its_reason_and_next_try():
    account = account_with_a_push("Amazon EU")
    next_try = circuit_trip(account, "Amazon is not answering: 503 Service Unavailable")
    (problem,) = [p for p in sync_problems(heartbeat=time.time()) if p.kind == "unreachable"]
    assert "Amazon cannot be reached for Amazon EU" in problem.text
    assert "503 Service Unavailable" in problem.text
    assert timezone.localtime(next_try).strftime("%H:%M:%S") in problem.text

    circuit_close(account)
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_a_push_message_alone_raises_no_banner_when_the_circuit_is_closed():
    listing = ListingFactory()
    QtyPush.objects.create(
        listing=listing,
        account=listing.amazon_account,
        quantity=3,
        reason="manual",
        attempts=2,
        message="Amazon refused the account's credentials: invalid_grant",
    )
    assert kinds(sync_problems(heartbeat=time.time())) == []


def test_home_page_shows_each_accounts_circuit():
    refused = account_with_a_push("Refused")
    down = account_with_a_push("Down")
    account_with_a_push("Fine")
    circuit_refused(refused, "invalid_grant")
    next_try = circuit_trip(down, "Amazon is not answering: timeout")
    by_name = {h.account.name: h for h in sync_health()}
    assert by_name["Refused"].circuit == "credentials"
    assert "invalid_grant" in by_name["Refused"].circuit_reason
    assert (by_name["Down"].circuit, by_name["Down"].next_try) == ("open", next_try)
    assert by_name["Fine"].circuit == ""


def test_home_page_and_banners_read_the_circuit_in_a_constant_number_of_queries():
    def count():
        with CaptureQueriesContext(connection) as queries:
            sync_problems(heartbeat=time.time())
            sync_health()
        return len(queries)

    circuit_trip(account_with_a_push("One"), "Amazon is not answering: 503")
    one = count()
    for i in range(3):
        circuit_refused(account_with_a_push(f"Refused {i}"), "invalid_grant")
        circuit_trip(account_with_a_push(f"Down {i}"), "Amazon is not answering: 503")
    assert count() == one


def test_the_home_page_says_credentials_refused_and_the_banner_links_to_the_accounts(
    admin_client,
):
    circuit_refused(account_with_a_push("Amazon US"), "invalid_grant")
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "health-circuit-credentials" in html
    assert "sync-problem-credentials" in html
    assert reverse("admin:accounts_amazonaccount_changelist") in html
