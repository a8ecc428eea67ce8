from django.apps import AppConfig


class SellingListsConfig(AppConfig):
    name = "selling_lists"
    verbose_name = "Selling Lists"
