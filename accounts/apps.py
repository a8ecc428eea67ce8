from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _refresh_roles(sender, apps=global_apps, **kwargs):
    # `flush` (transactional tests) sends the signal without `apps`: the live registry then.
    # Models added since the roles migration (and the sandbox's) join the roles here.
    from .roles import apply_roles

    apply_roles(apps)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts & stores"

    def ready(self):
        post_migrate.connect(_refresh_roles, sender=self)
