"""SP-API paths under /sandbox/amazon/, as on https://sellingpartnerapi-na.amazon.com."""

from django.urls import path

from . import views

app_name = "sandbox_amazon"

urlpatterns = [
    path("auth/o2/token", views.lwa_token, name="lwa_token"),
    # <path:sku>: a SKU may hold a slash, which arrives URL-decoded.
    path(
        "listings/2021-08-01/items/<str:seller_id>/<path:sku>",
        views.listings_item_view,
        name="listings_item",
    ),
    path("feeds/2021-06-30/documents", views.feed_documents_view, name="feed_documents"),
    path(
        "feeds/2021-06-30/documents/<str:document_id>",
        views.feed_document_view,
        name="feed_document",
    ),
    path("feeds/2021-06-30/feeds", views.feeds_view, name="feeds"),
    path("feeds/2021-06-30/feeds/<str:feed_id>", views.feed_view, name="feed"),
    path("reports/2021-06-30/reports", views.reports_view, name="reports"),
    path("reports/2021-06-30/reports/<str:report_id>", views.report_view, name="report"),
    path(
        "reports/2021-06-30/documents/<str:document_id>",
        views.report_document_view,
        name="report_document",
    ),
    path("orders/2026-01-01/orders", views.orders_view, name="orders"),
    path("documents/<str:url_key>", views.document, name="document"),
]
