from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"

    def ready(self):
        # Registers the Celery tasks in every process (web included): services queue some of
        # them by name (sync/queues.py) without importing the task modules, which import them.
        from . import tasks  # noqa: F401
