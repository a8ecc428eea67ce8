from django.urls import path

from . import views

app_name = "sandbox_shopify"

urlpatterns = [
    path("<str:shop>/admin/api/<str:version>/graphql.json", views.graphql, name="graphql"),
    path("<str:shop>/admin/oauth/access_token", views.access_token, name="access_token"),
    path("<str:shop>/bulk/<int:pk>/<str:token>.jsonl", views.bulk_file, name="bulk_file"),
]
