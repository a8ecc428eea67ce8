"""The three roles of a merchant's team, as Django groups (README, "Roles").

- Viewer: sees everything in Stocklink's apps, changes nothing.
- Operator: the day-to-day work: Selling Lists and Listings (link, import, Update Qty), Global
  Profiles, order imports and retries, Test connection and catalogue import; never the Amazon
  accounts' or Shopify stores' settings and credentials, never users.
- Administrator: everything in Stocklink's apps, and unlocking locked-out logins. Users and
  groups stay with superusers: whoever edits users can make themselves one.

`apply_roles` sets each group to exactly this definition. It runs in a data migration and again
after every `migrate`, so models added later are covered without a new migration.
"""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes

VIEWER, OPERATOR, ADMINISTRATOR = "Viewer", "Operator", "Administrator"
ROLES = (VIEWER, OPERATOR, ADMINISTRATOR)

# Stocklink's own apps (the sandbox's only where it is installed).
PROJECT_APPS = frozenset(
    {"accounts", "profiles", "selling_lists", "sync", "sandbox_amazon", "sandbox_shopify"}
)
# What an Operator may do beyond viewing, by app: None = every model of the app.
OPERATOR_GRANTS = {
    ("selling_lists", None): {"add", "change", "delete"},
    ("profiles", None): {"add", "change"},
    ("sync", None): {"change"},  # order imports and retries of failed stock changes
    ("sandbox_amazon", None): {"change"},  # the demo: place orders, edit Amazon's quantity
    ("sandbox_shopify", None): {"change"},
    ("accounts", "amazonaccount"): {"operate"},
    ("accounts", "shopifystore"): {"operate"},
}
# Administrators also unlock logins: they view and delete django-axes' access attempts.
ADMINISTRATOR_EXTRA = {("axes", "accessattempt"): {"view", "delete"}}


def role_allows(role: str, app_label: str, model: str, action: str) -> bool:
    """Whether `role` holds the permission `<action>_<model>` of `app_label` (e.g. "change")."""
    if app_label not in PROJECT_APPS:
        extra = ADMINISTRATOR_EXTRA.get((app_label, model), set())
        return role == ADMINISTRATOR and action in extra
    if role == ADMINISTRATOR:
        return True
    if action == "view":
        return True
    if role == OPERATOR:
        granted = OPERATOR_GRANTS.get((app_label, model)) or OPERATOR_GRANTS.get(
            (app_label, None), set()
        )
        return action in granted
    return False


def apply_roles(apps) -> None:
    """Create the three groups and give each exactly the permissions `role_allows` names.

    `apps` is a registry: the historical one in a migration, the live one after `migrate`.
    """
    # Permissions are normally created after all migrations ran; roles need them now.
    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module; the creators skip such apps.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_contenttypes(app_config, apps=apps, verbosity=0)
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.select_related("content_type"))
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [
                p
                for p in permissions
                if role_allows(
                    role,
                    p.content_type.app_label,
                    p.content_type.model,
                    p.codename.removesuffix(f"_{p.content_type.model}"),
                )
            ]
        )
