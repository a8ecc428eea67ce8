"""Admin building blocks shared by every app's admin (a module of its own: the apps' admin
modules import each other's actions, and this must not depend on any of them)."""


class ReadOnlyAdminMixin:
    """Data mirrored from Shopify or Amazon, or history: viewed here, changed at the source."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
