"""The CSV link upload is bounded and answers every bad file with a clear message."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sync.jobs.models import Job
from sync.linking import MAX_CSV_BYTES, MAX_CSV_ERRORS
from tests.factories import SellingListFactory

pytestmark = pytest.mark.django_db

HEADER = b"shopify_sku,amazon_sku\n"


def upload(admin_client, content: bytes):
    selling_list = SellingListFactory()
    url = reverse("admin:selling_lists_sellinglist_link_csv", args=[selling_list.pk])
    response = admin_client.post(url, {"file": SimpleUploadedFile("links.csv", content)})
    return selling_list, response


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (HEADER, "The file has no links below its header line."),
        (HEADER + b"A," + b"x" * 300 + b"\n", "a SKU is longer than 255 characters"),
        (HEADER + b"A," + b"x" * (200 * 1024) + b"\n", "not a readable CSV line"),
        (HEADER + b'A,"' + b"x" * (200 * 1024) + b"\n", "not a readable CSV line"),
        (HEADER + b"A\x00B,C\n", "contains NUL characters"),
        (b"\xff\xfe not utf-8", "The file is not UTF-8 text."),
        (b"a,b\n1,2\n", "must name the columns"),
        (HEADER + b"A," + b"\n" * 10, "both shopify_sku and amazon_sku are needed"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_starts_nothing(admin_client, content, message):
    _, response = upload(admin_client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_a_file_over_the_size_limit_is_refused(admin_client):
    _, response = upload(admin_client, HEADER + b"A,B\n" * (MAX_CSV_BYTES // 4 + 1))

    assert "larger than 5 MB" in response.content.decode()


def test_ten_thousand_bad_rows_give_a_short_page_and_a_capped_downloadable_report(admin_client):
    selling_list, response = upload(admin_client, HEADER + b",\n" * 10_000)

    page = response.content.decode()
    assert len(page) < 60_000
    assert "more — " in page and "download every error" in page
    report = admin_client.get(
        reverse("admin:selling_lists_sellinglist_link_csv_errors", args=[selling_list.pk])
    )
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert report["Content-Type"].startswith("text/csv")
    assert rows[0] == ["error"] and len(rows) == MAX_CSV_ERRORS + 2  # header, capped, "more"
    assert rows[-1] == ["… and 9,000 more errors."]
