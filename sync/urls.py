from django.urls import path

from . import views

app_name = "sync"
urlpatterns = [
    path("shopify/", views.shopify_webhook, name="shopify_webhook"),
]
