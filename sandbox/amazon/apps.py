from django.apps import AppConfig


class SandboxAmazonConfig(AppConfig):
    name = "sandbox.amazon"
    label = "sandbox_amazon"
    verbose_name = "Sandbox · Amazon"
