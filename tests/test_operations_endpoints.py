"""/health/, /health/web/ and /metrics, as a monitor and a scraper see them."""

from config.tasks import beat_heartbeat


def test_web_health_answers_200_when_database_and_cache_answer(client, db):
    response = client.get("/health/web/?format=json")
    assert response.status_code == 200
    assert set(response.json().values()) == {"OK"}


def test_health_reports_beat_as_down_until_the_heartbeat_task_has_run(client, db):
    response = client.get("/health/?format=json")
    assert response.status_code == 500
    assert any("No beat heartbeat recorded yet." in v for v in response.json().values())

    beat_heartbeat()
    response = client.get("/health/?format=json")
    assert response.status_code == 200, response.json()


def test_health_reports_a_stale_heartbeat(client, db, settings):
    beat_heartbeat()
    settings.STOCKLINK_BEAT_STALE_SECONDS = -1
    response = client.get("/health/?format=json")
    assert response.status_code == 500
    assert any("Last beat heartbeat" in v for v in response.json().values())


def test_metrics_need_the_scrapers_token(client, db, settings):
    settings.STOCKLINK_METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    assert b"django_http_requests_total_by_view_transport_method" in response.content


def test_metrics_are_not_published_without_a_token_outside_debug(client, db, settings):
    settings.STOCKLINK_METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 404
