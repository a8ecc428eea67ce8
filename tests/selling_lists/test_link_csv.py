"""The CSV link upload is bounded and answers every bad file with a clear message."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

    assert response.status_code == 400
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


# Any printable text, commas, quotes, line breaks, NUL and other control characters.
CELLS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
).filter(lambda cell: "\r" not in cell)


# The logged-in client is the same for every example; each example's rows are rolled back.
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(st.lists(CELLS, min_size=0, max_size=3), max_size=8))
def test_any_csv_is_either_queued_whole_or_refused_with_a_reason_never_a_5xx(admin_client, rows):
    lines = ["shopify_sku,amazon_sku"] + [",".join(row) for row in rows]
    with transaction.atomic():  # each example leaves nothing behind
        _, response = upload(admin_client, "\n".join(lines).encode())
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            job = Job.objects.get()
            assert all("\0" not in sku for pair in job.params["pairs"].items() for sku in pair)
        else:
            assert not Job.objects.exists()
            assert 'class="errorlist"' in response.content.decode()
        transaction.set_rollback(True)
