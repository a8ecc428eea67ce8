"""Roles × every admin page, action and custom view: each role gets exactly what it may do.

The pages come from the admin registry, so a new model or view is covered (or fails here
until it is described) without editing this file's lists.
"""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from accounts.roles import ADMINISTRATOR, OPERATOR, PROJECT_APPS, ROLES, VIEWER, role_allows
from sync.jobs.models import Job, JobKind
from tests.factories import (
    AdminUserFactory,
    InventoryLevelFactory,
    ListingFactory,
    MetafieldValueFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRETS = ("lwa-client-secret-role-test-1", "Atzr|refresh-role-test-2", "shpat_role-test-3")

# Every custom admin view: (HTTP method, the permission it needs on its model).
CUSTOM_VIEWS = {
    "profiles_globalprofile_preview": ("post", "view"),
    "selling_lists_sellinglist_link_csv": ("get", "change"),
    "selling_lists_sellinglist_link_csv_errors": ("get", "change"),
    "sync_job_progress": ("get", "view"),
    "selling_lists_listing_rule_change": ("get", "change"),
    "sync_amazonorder_import_now": ("post", "change"),
    "auth_user_password_change": ("get", "change"),
}
# Query strings a custom view needs to show something.
QUERY = {
    "selling_lists_listing_rule_change": lambda listing: {"selling_list": listing.selling_list_id}
}
STANDARD_VIEWS = {"changelist", "add", "history", "delete", "change"}


@pytest.fixture
def world():
    listing = ListingFactory(
        selling_list__amazon_account__lwa_client_secret=SECRETS[0],
        selling_list__amazon_account__refresh_token=SECRETS[1],
        selling_list__shopify_store__access_token=SECRETS[2],
    )
    InventoryLevelFactory(variant=listing.variant)
    MetafieldValueFactory(variant=listing.variant)
    Job.objects.create(kind=JobKind.RECONCILE, params={})
    return listing


def client_for(client_class, role):
    if role == "superuser":
        user = AdminUserFactory()
    else:
        user = UserFactory(username=role.lower())
        user.groups.add(Group.objects.get(name=role))
    client = client_class()
    client.force_login(user)
    return client, user


def page_urls():
    """(model, permission needed, url) of every standard admin page with an object to show."""
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        yield model, "view", reverse("admin:{}_{}_changelist".format(*info))
        yield model, "add", reverse("admin:{}_{}_add".format(*info))
        obj = model._default_manager.first()
        if obj is not None:
            yield model, "view", reverse("admin:{}_{}_change".format(*info), args=[obj.pk])


def test_every_role_is_a_group_created_by_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_each_role_as_its_permissions_say(world, role, client):
    superuser, _ = client_for(type(client), "superuser")
    member, _ = client_for(type(client), role)
    for model, needs, url in page_urls():
        opts = model._meta
        allowed = role_allows(role, opts.app_label, opts.model_name, needs) or (
            needs == "view" and role_allows(role, opts.app_label, opts.model_name, "change")
        )
        expected = superuser.get(url).status_code if allowed else 403
        response = member.get(url)
        assert response.status_code == expected, f"{role} on {url}"
        html = response.content.decode()
        assert not any(secret in html for secret in SECRETS), f"a secret on {url} for {role}"


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_action_is_offered_only_to_roles_holding_its_permissions(role, client):
    _, superuser = client_for(type(client), "superuser")
    _, member = client_for(type(client), role)
    request = RequestFactory().get("/admin/")
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        request.user = superuser
        every_action = model_admin.get_actions(request)
        request.user = member
        offered = set(model_admin.get_actions(request))
        reachable = any(
            role_allows(role, opts.app_label, opts.model_name, p) for p in ("view", "change")
        )
        for name, (func, _name, _description) in every_action.items():
            needs = getattr(func, "allowed_permissions", ())
            if opts.app_label in PROJECT_APPS:
                # Without permissions an action runs for anyone who can see the list.
                assert needs, f"{opts.label}.{name} declares no permissions"
            allowed = reachable and all(
                role_allows(role, opts.app_label, opts.model_name, p) for p in needs
            )
            assert (name in offered and reachable) == allowed, f"{role} and {opts.label}.{name}"


@pytest.mark.parametrize("role", ROLES)
def test_every_custom_admin_view_answers_each_role_as_its_permissions_say(world, role, client):
    member, _ = client_for(type(client), role)
    found = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            if not name or name.removeprefix(f"{opts.app_label}_{opts.model_name}_") in (
                STANDARD_VIEWS
            ):
                continue
            found.add(name)
            assert name in CUSTOM_VIEWS, f"describe the new admin view {name} in CUSTOM_VIEWS"
            method, needs = CUSTOM_VIEWS[name]
            try:
                url = reverse(f"admin:{name}")
            except NoReverseMatch:
                url = reverse(f"admin:{name}", args=[model._default_manager.first().pk])
            query = QUERY.get(name, lambda listing: {})(world)
            if query:
                url += "?" + urlencode(query)
            response = getattr(member, method)(url)
            allowed = role_allows(role, opts.app_label, opts.model_name, needs)
            if name == "sync_amazonorder_import_now":
                # A button on the changelist: it answers with a redirect and a message.
                assert response.status_code == 302
                refused = "You may not import orders." in member.get(response.url).content.decode()
                assert refused != allowed, f"{role} on {name}"
            else:
                assert response.status_code == (200 if allowed else 403), f"{role} on {name}"
    assert found == set(CUSTOM_VIEWS)


def test_the_roles_say_what_the_readme_says():
    # Operators run the day-to-day work but never touch credentials or users.
    assert role_allows(OPERATOR, "selling_lists", "listing", "change")
    assert role_allows(OPERATOR, "accounts", "shopifystore", "operate")
    assert not role_allows(OPERATOR, "accounts", "shopifystore", "change")
    assert not role_allows(OPERATOR, "accounts", "amazonaccount", "change")
    assert not role_allows(OPERATOR, "auth", "user", "view")
    assert not role_allows(VIEWER, "selling_lists", "listing", "change")
    assert role_allows(ADMINISTRATOR, "accounts", "amazonaccount", "change")
    assert not role_allows(ADMINISTRATOR, "auth", "user", "change")
