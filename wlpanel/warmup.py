"""Work every web process would otherwise do on its first request, done once at start.

Under gunicorn with `preload_app` (gunicorn.conf.py) this runs in the master, before the workers
are forked: they start with the URLconf imported (the API's schemas are most of it), every
template of the project and the SQL of the hot reads compiled, instead of spending about 300 ms
of CPU on the first request each, and the objects loaded so far are frozen out of the garbage collector's scans (a full
collection in a worker otherwise walks the whole of Django, pydantic and the panel, page after page).
"""

import gc
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import engines
from django.template.utils import get_app_template_dirs
from django.urls import get_resolver

from wlpanel.compiled_query import compile_all


def warm_up() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf
    for name in project_template_names():
        engines["django"].get_template(name)  # kept by the cached loader
    compile_all()  # the hot reads' SQL (wlpanel.compiled_query)
    connections.close_all()  # nothing above should connect; a forked worker must not share one
    gc.collect()
    gc.freeze()


def project_template_names() -> list[str]:
    """The project's own templates (not the installed packages'), by the names views use."""
    root = Path(settings.BASE_DIR).resolve()
    dirs = [Path(d).resolve() for d in (*settings.TEMPLATES[0]["DIRS"], *get_app_template_dirs("templates"))]
    names = set()
    for directory in dirs:
        if not directory.is_relative_to(root) or ".venv" in directory.parts or "site-packages" in directory.parts:
            continue
        names.update(path.relative_to(directory).as_posix() for path in directory.rglob("*.html"))
    return sorted(names)
