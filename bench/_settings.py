"""The demo's settings (config.settings.dev), unchanged except where a benchmark's processes meet.

- The filesystem broker's folder moves to `STOCKLINK_BENCH_BROKER_DIR`, so a benchmark's tasks
  never mix with those of a demo (`make run`, which uses var/broker) running on the same checkout.
- `STOCKLINK_BENCH_BROKER_POLL` (seconds), when set, replaces the broker's polling interval
  (config sets 0.05 s; kombu's own default is 1 s). Used only to show what the interval costs.

Run with DJANGO_SETTINGS_MODULE=bench._settings (bench/ is a namespace package from the root).
"""

import os

from config.settings.dev import *  # noqa: F403
from config.settings.dev import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL

_folder = os.environ.get("STOCKLINK_BENCH_BROKER_DIR")
if _folder and CELERY_BROKER_URL.startswith("filesystem"):
    os.makedirs(os.path.join(_folder, "processed"), exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": _folder,
        "data_folder_out": _folder,
        "processed_folder": os.path.join(_folder, "processed"),
        "control_folder": os.path.join(_folder, "control"),
    }
_poll = os.environ.get("STOCKLINK_BENCH_BROKER_POLL")
if _poll:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "polling_interval": float(_poll),
    }
