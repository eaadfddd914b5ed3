# The production image: the same hashed lock file CI installs from. Not built here (no Docker
# engine on the development machines); kept consistent with settings and docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 WLPANEL_ENV=production
WORKDIR /app

COPY requirements/lock.txt requirements/lock.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/lock.txt

COPY . .
# collectstatic needs settings that import; these values are build-time placeholders only.
RUN DJANGO_SECRET_KEY=build-only WLPANEL_AUDIT_KEY=build-only DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=memory:// python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 wlpanel \
 && mkdir -p /var/lib/wlpanel && chown wlpanel /var/lib/wlpanel
USER wlpanel

EXPOSE 8000
# Workers (two per core), threads and timeout: gunicorn.conf.py; WEB_CONCURRENCY overrides.
CMD ["gunicorn", "wlpanel.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
