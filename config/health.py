"""Health checks of our own, beside django-health-check's (settings HEALTH_CHECKS).

/health/      database, cache (Redis when configured), broker, beat freshness, and every
              queue consumed by a worker: what a monitor pages on
/health/web/  database and cache only: the web container's own probe
"""

import dataclasses
import datetime
import time

from celery import Celery
from django.conf import settings
from health_check.base import HealthCheck
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from .celery import app
from .tasks import last_heartbeat


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis in production)."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=3), repr=False
    )

    def run(self) -> None:
        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=self.timeout.total_seconds())
        except Exception as exc:  # kombu raises a transport's own errors
            raise ServiceUnavailable(f"Broker unreachable: {type(exc).__name__}") from exc


@dataclasses.dataclass
class BeatFreshness(HealthCheck):
    """Beat's heartbeat task (config/tasks.py) ran recently on a worker."""

    def run(self) -> None:
        last = last_heartbeat()
        if last is None:
            raise ServiceUnavailable("No beat heartbeat recorded yet.")
        age = time.time() - float(last)
        if age > settings.STOCKLINK_BEAT_STALE_SECONDS:
            raise ServiceUnavailable(f"Last beat heartbeat {age:.0f} s ago.")


@dataclasses.dataclass
class QueuesConsumed(Ping):
    """Workers answer a ping, and each of our queues has at least one of them."""

    app: Celery = dataclasses.field(default_factory=lambda: app, repr=False)
    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=1), repr=False
    )


class HealthView(HealthCheckView):
    checks_setting = "HEALTH_CHECKS"

    def get_checks(self):
        self.checks = getattr(settings, self.checks_setting)
        return super().get_checks()


class WebHealthView(HealthView):
    checks_setting = "HEALTH_CHECKS_WEB"
