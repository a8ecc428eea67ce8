from django.apps import AppConfig


class SandboxShopifyConfig(AppConfig):
    name = "sandbox.shopify"
    label = "sandbox_shopify"
    verbose_name = "Sandbox · Shopify"
