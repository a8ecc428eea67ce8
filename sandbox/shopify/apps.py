from django.apps import AppConfig


class SandboxShopifyConfig(AppConfig):
    name = "sandbox.shopify"
    label = "sandbox_shopify"
    verbose_name = "Sandbox · Shopify"

    def ready(self):
        from celery.signals import worker_init

        from . import signals  # noqa: F401  (stock changes fire webhooks)

        worker_init.connect(_build_schema_before_fork, weak=False)


def _build_schema_before_fork(**_kwargs):
    """A Celery worker runs the bulk operations: build the schema once in its main process, so
    the pool's children inherit it (frozen, `admin_schema`) instead of each building it during
    its first bulk operation, which took 10 s and more on a loaded machine."""
    from .schema import admin_schema

    admin_schema()
