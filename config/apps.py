from django.contrib.admin.apps import AdminConfig


class StocklinkAdminConfig(AdminConfig):
    """Django's admin, with Stocklink's site as `admin.site` (navigation, sync health)."""

    default_site = "config.admin_site.StocklinkAdminSite"
