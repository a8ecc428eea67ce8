from django.apps import AppConfig


class SandboxShopifyConfig(AppConfig):
    name = "sandbox.shopify"
    label = "sandbox_shopify"
    verbose_name = "Sandbox · Shopify"

    def ready(self):
        from . import signals  # noqa: F401  (stock changes fire webhooks)
