from django.urls import include, path

urlpatterns = [
    path("amazon/", include("sandbox.amazon.urls")),
    path("shopify/", include("sandbox.shopify.urls")),
]
