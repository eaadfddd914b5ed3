import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wlpanel.settings")

app = Celery("wlpanel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker writes a heartbeat row that `manage.py worker_alive` and /healthz read.
app.steps["worker"].add("environments.provisioning.liveness:Heartbeat")
