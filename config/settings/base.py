"""Settings shared by every environment; values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
# Rotation: the new key in DJANGO_SECRET_KEY, the old ones here until sessions have turned over.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL of this app, used as the address of Shopify webhook subscriptions.
STOCKLINK_BASE_URL = env("STOCKLINK_BASE_URL", default="http://127.0.0.1:8000")

# Fernet keys (comma separated, newest first) that encrypt secrets at rest.
STOCKLINK_ENCRYPTION_KEYS = env.list("STOCKLINK_ENCRYPTION_KEYS")

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)

DJANGO_APPS = [
    "django_prometheus",
    "health_check",
    "config.apps.StocklinkAdminConfig",  # Django's admin with our site (config/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "axes",  # login throttling (docs/security.md)
    "csp",  # Content Security Policy; its header is sent under production settings
]
LOCAL_APPS = [
    "accounts",
    "profiles",
    "selling_lists",
    "sync",
]
SANDBOX_APPS = ["sandbox", "sandbox.amazon", "sandbox.shopify"]
INSTALLED_APPS = (
    DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS + (SANDBOX_APPS if SANDBOX_ENABLED else [])
)

MIDDLEWARE = [
    # Request counts and latencies for /metrics: Before first, After last but for axes.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]
# Shopify's webhooks only (config/wsgi.py): a signed POST from a machine, answered in text/plain,
# needs none of the session, user, messages, CSRF, CSP or login throttling above, and records
# one latency histogram instead of django-prometheus's ten series (sync/webhook_timing.py).
WEBHOOK_MIDDLEWARE = [
    "sync.webhook_timing.WebhookTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name,
# that user name is locked out for the cool-off, even with the right password. Locking by user
# name (not IP) holds behind a proxy and against guesses spread over many addresses; unlocking
# is described in docs/security.md.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command
# axes.W006 warns that, without the IP address, rotating user agents or cookies escapes the
# limit; a user-name lockout counts failures per user name, whatever the client sends.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Shared state for rate limits, locks and the beat heartbeat: Redis when configured, else the
# database (rate limits) and a cache folder that the demo's processes share.
REDIS_URL = env("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
        }
    )
}
CACHES["default"]["KEY_PREFIX"] = "stocklink"

# Celery. The embedded default needs no server: a filesystem broker shared by web and worker.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
_broker_dir = BASE_DIR / "var" / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
        # The default 1 s poll would add a second per hop to the seconds-not-minutes promise.
        "polling_interval": 0.05,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis hands an unacknowledged message to another worker after this: it must outlast the
    # longest hard time limit below, or a long job would run twice.
    else {"visibility_timeout": 2 * 3600}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT = "config.broker:AtomicFilesystemTransport"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Queues: a backlog in one never delays another (docs/deployment.md). Routed by task name; a
# task that is renamed or added must be listed here (tests/test_celery_routing.py checks it).
STOCKLINK_TASK_QUEUES = {
    # Shopify told us something changed: re-read, recompute, queue pushes. Seconds matter.
    "webhooks": ["sync.drain_webhook_events", "sync.process_webhook_event"],
    # Sends, read-backs, feed polls, and the beat entry that queues them.
    "pushes": [
        "sync.send_pending",
        "sync.confirm_pushes",
        "sync.poll_feed",
        "sync.dispatch_due_work",
        "sync.flush_webhook_rejections",
        "stocklink.beat_heartbeat",
    ],
    # Amazon orders to Shopify stock.
    "orders": [
        "sync.import_orders",
        "sync.apply_pending_order_items",
        "sync.import_due_orders",
    ],
    # Long operations started from the admin or by beat: imports, reconcile, recompute.
    "jobs": [
        "sync.import_catalogue",
        "sync.connect_store",
        "sync.reconcile_all",
        "sync.account_switches_changed",
        "sync.hold_rule_change",
        "sync.run_job",
        "sync.refresh_metafields",
    ],
}
STOCKLINK_QUEUES = list(STOCKLINK_TASK_QUEUES)
# Each queue its own exchange and key: Celery would otherwise bind them all to the default
# queue's key, and a message routed to one would be copied to all four.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in STOCKLINK_QUEUES]
# Anything unrouted (the sandbox's simulated vendors, a task someone forgot) still runs.
CELERY_TASK_DEFAULT_QUEUE = "jobs"
CELERY_TASK_ROUTES = {
    task: {"queue": queue} for queue, tasks in STOCKLINK_TASK_QUEUES.items() for task in tasks
}
# Time limits per queue, seconds (soft raises SoftTimeLimitExceeded in the task, hard kills the
# process). Pushes end well before SYNC_CLAIM_LEASE_SECONDS, so a lease never lapses under a
# live send; jobs get an hour (a reconcile at 300k listings is budgeted at 5 minutes).
STOCKLINK_QUEUE_TIME_LIMITS = {
    "webhooks": (60, 90),
    "pushes": (240, 300),
    "orders": (240, 300),
    "jobs": (3300, 3600),
}
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = STOCKLINK_QUEUE_TIME_LIMITS["jobs"]
CELERY_TASK_ANNOTATIONS = {
    task: dict(
        zip(("soft_time_limit", "time_limit"), STOCKLINK_QUEUE_TIME_LIMITS[queue], strict=True)
    )
    for queue, tasks in STOCKLINK_TASK_QUEUES.items()
    for task in tasks
}
# Our own tasks outside the apps (the beat heartbeat that /health/ reads).
CELERY_IMPORTS = ["config.tasks"]

# Periodic work (Celery beat): due pushes, read-backs, feed polls, order imports, reconcile.
CELERY_BEAT_SCHEDULE = {
    # Sends whose back-off is over, due read-backs, feeds to poll, claims of dead workers.
    "sync-dispatch-due-work": {"task": "sync.dispatch_due_work", "schedule": 5.0},
    # Queues an import only for accounts whose searchOrders budget allows (SYNC_ORDERS_INTERVAL_
    # SECONDS per marketplace), so a shorter schedule never exceeds Amazon's rate.
    "orders-import": {
        "task": "sync.import_due_orders",
        "schedule": env.float("SYNC_ORDERS_IMPORT_SECONDS", default=300.0),
    },
    # Refused webhooks are counted in Redis off the database's path; this adds any count whose
    # own flush was lost (sync/inbound/webhooks.py).
    "sync-flush-webhook-rejections": {"task": "sync.flush_webhook_rejections", "schedule": 60.0},
    # Metafield-sourced stock: no webhook covers a metafield edit (docs/convergence.md).
    "metafields-refresh": {
        "task": "sync.refresh_metafields",
        "schedule": env.float("SYNC_METAFIELD_REFRESH_SECONDS", default=300.0),
    },
    # Webhooks are not enough on their own: re-read Shopify, read Amazon back, repair drift.
    "reconcile": {
        "task": "sync.reconcile_all",
        "schedule": env.float("STOCKLINK_RECONCILE_SECONDS", default=3600.0),
    },
    # /health/ reports beat as stale when this has not run for STOCKLINK_BEAT_STALE_SECONDS.
    "beat-heartbeat": {"task": "stocklink.beat_heartbeat", "schedule": 15.0},
}
STOCKLINK_BEAT_STALE_SECONDS = env.float("STOCKLINK_BEAT_STALE_SECONDS", default=120.0)
# The admin warns when a store with Selling Lists sent no webhook for this long (sync/health.py).
STOCKLINK_WEBHOOK_SILENCE_HOURS = env.float("STOCKLINK_WEBHOOK_SILENCE_HOURS", default=24.0)

# The sync engine (read at call time through sync/conf.py; docs/architecture.md).
# Few changes go by patchListingsItem, many by one JSON_LISTINGS_FEED; docs/BENCHMARKS.md has
# the measurement behind the switch-over point.
SYNC_FEED_THRESHOLD = env.int("SYNC_FEED_THRESHOLD", default=100)
# Pushes claimed at a time for patching: ~4 s of the 5 req/s budget keeps a claim short.
SYNC_PATCH_CLAIM = env.int("SYNC_PATCH_CLAIM", default=20)
# Read-backs of an ACCEPTED push before it is sent again (transient failures never give up).
SYNC_MAX_CHECKS = env.int("SYNC_MAX_CHECKS", default=8)
# The longest back-off of a push after a transient failure (jittered), and the longest wait
# between two probes of a seller whose circuit is open (docs/convergence.md).
SYNC_MAX_BACKOFF_SECONDS = env.float("SYNC_MAX_BACKOFF_SECONDS", default=300.0)
SYNC_CIRCUIT_MAX_PROBE_SECONDS = env.float("SYNC_CIRCUIT_MAX_PROBE_SECONDS", default=20.0)
# Metafield-sourced stock is re-read from Shopify this often (webhooks do not cover it).
SYNC_METAFIELD_REFRESH_SECONDS = env.float("SYNC_METAFIELD_REFRESH_SECONDS", default=300.0)
# Off (the default): each refresh reads every value of the keys profiles use, which is right
# whatever Shopify does. On: it asks only for variants updated since the previous refresh began,
# less the overlap (Shopify's clock and search index may lag ours), which is only right if Shopify
# moves a variant's updatedAt on a metafield-only edit: not confirmed (docs/convergence.md).
SYNC_METAFIELD_INCREMENTAL = env.bool("SYNC_METAFIELD_INCREMENTAL", default=False)
SYNC_METAFIELD_OVERLAP_SECONDS = env.float("SYNC_METAFIELD_OVERLAP_SECONDS", default=60.0)
# Seconds from ACCEPTED to the first read-back, and from a feed's upload to its first poll.
SYNC_CONFIRM_DELAY = env.float("SYNC_CONFIRM_DELAY", default=2.0)
SYNC_FIRST_FEED_POLL = env.float("SYNC_FIRST_FEED_POLL", default=5.0)
# A worker's claim on pushes lapses when not renewed for this long (a heartbeat renews it every
# third of it); a killed worker's pushes are then sent again by the next dispatch.
SYNC_CLAIM_LEASE_SECONDS = env.float("SYNC_CLAIM_LEASE_SECONDS", default=30.0)
# Seconds a vendor call may take while a person waits in the admin (Test connection).
SYNC_INTERACTIVE_TIMEOUT = env.float("SYNC_INTERACTIVE_TIMEOUT", default=10.0)
# Listings recomputed per transaction (queries grow with batches, not rows). A batch holds the
# row locks of the listings it writes until it commits (about a second at 10,000); 10,000 took
# 0.75x the time of 2,000 for 100,000 listings (docs/BENCHMARKS.md).
SYNC_RECOMPUTE_BATCH_SIZE = env.int("SYNC_RECOMPUTE_BATCH_SIZE", default=10000)
# Update Qty of more listings than this re-reads Shopify by a bulk operation, not by pages.
SYNC_UPDATE_QTY_BULK_THRESHOLD = env.int("SYNC_UPDATE_QTY_BULK_THRESHOLD", default=5000)
# Share of Amazon's published rates we use, and the longest a worker waits for a token.
SYNC_RATE_SAFETY = env.float("SYNC_RATE_SAFETY", default=0.9)
SYNC_RATE_MAX_WAIT = env.float("SYNC_RATE_MAX_WAIT", default=30.0)
# Amazon orders: each import re-reads this much before the previous one's start, and a
# scheduled import of an account is due after this much per marketplace (searchOrders' rate).
SYNC_ORDERS_OVERLAP_SECONDS = env.float("SYNC_ORDERS_OVERLAP_SECONDS", default=900.0)
SYNC_ORDERS_INTERVAL_SECONDS = env.float("SYNC_ORDERS_INTERVAL_SECONDS", default=180.0)

# Logs: plain text for people (dev), one JSON object per line for a log pipeline (production).
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # One line per vendor request is noise at INFO; errors still show.
        "httpx": {"level": "WARNING"},
        # The filesystem broker has no host name; kombu warns about it on every connection.
        "kombu.connection": {"level": "ERROR"},
    },
}

# Official API specifications (copies) that the sandbox and the tests validate against.
API_SPECS_DIR = BASE_DIR / "sandbox" / "specs"

# /health/: what a monitor asks (config/health.py). The web's own probe, /health/web/, checks
# only what the web process needs, so a stopped worker never takes the web out of rotation.
HEALTH_CHECKS_WEB = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
]
HEALTH_CHECKS = [
    *HEALTH_CHECKS_WEB,
    "config.health.Broker",
    "config.health.BeatFreshness",
]
if not CELERY_BROKER_URL.startswith("filesystem"):
    # Every queue has a worker. The filesystem broker cannot broadcast, so the demo skips it.
    HEALTH_CHECKS.append("config.health.QueuesConsumed")
# Prometheus scrapes /metrics with `Authorization: Bearer <token>`; unset = only in DEBUG.
STOCKLINK_METRICS_TOKEN = env("STOCKLINK_METRICS_TOKEN", default="")
