from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


def _database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception:  # noqa: BLE001 - a health probe reports every failure
        return {"ok": False, "vendor": connection.vendor}


def _broker_state() -> dict:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return {"ok": True, "transport": conn.transport_cls}
    except Exception:  # noqa: BLE001
        return {"ok": False}


def _workers_state() -> dict:
    """Informational: a stalled worker is the worker probe's business, never a reason to take the web out."""
    from environments.provisioning.liveness import worker_liveness

    try:
        verdicts = worker_liveness()
    except Exception as exc:  # noqa: BLE001
        return {"ok": None, "error": exc.__class__.__name__}
    return {"ok": not any(verdict.stalled for verdict in verdicts), "items": [verdict.as_dict() for verdict in verdicts]}


@never_cache
@require_GET
def healthz(request):
    """Database and broker state; no login, no AWS call. 200 when both answer, else 503.

    Anyone sees only that (and which embedded stand-in answers, DESIGN section 6). Staff sessions
    also get `workers`, whose host names and pids are nobody else's business; it never changes
    the status code.
    """
    checks = {"database": _database_state(), "broker": _broker_state()}
    healthy = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    if request.user.is_authenticated and request.user.is_staff:
        body["workers"] = _workers_state()
    return JsonResponse(body, status=200 if healthy else 503)
