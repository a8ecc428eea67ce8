# One image for every process of the production topology (compose.yaml): the command chooses
# web (gunicorn), a Celery worker on its queues, or beat. docs/deployment.md explains the rest.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app stocklink

# The locked set, installed before the code so a code change does not reinstall it.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY --chown=stocklink:stocklink . .
# Static files are collected at build time; collectstatic needs settings but no secrets' values.
RUN DJANGO_SECRET_KEY=build-only STOCKLINK_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMzJieXRlcy0wMTIzNDU2Nzg= \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var && chown stocklink:stocklink /app/var

USER stocklink
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health/web/', timeout=4)"
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
