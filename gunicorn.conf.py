"""gunicorn's settings wherever the panel is served from this checkout: `make run`, the image and
bench/web.py (gunicorn reads ./gunicorn.conf.py by itself; command-line flags override it)."""

import os

# Sync workers, two per core: the pages are CPU-bound Python, so threads only queue behind the
# GIL. On 2 cores, 4 x 1 met p95 < 100 ms at 10 clients where 2 x 4 did not (docs/web.md). Behind
# a load balancer that does not buffer slow clients, raise WEB_THREADS instead.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
threads = int(os.environ.get("WEB_THREADS", "1"))
# The zone opt-in API waits up to 30 s for the zone cache; a sync worker is killed past `timeout`.
timeout = 60
# Load the panel once in the master and fork the workers from it: wlpanel/wsgi.py warms it up (the
# URLconf, the compiled templates) and freezes what is loaded out of the garbage collector's reach,
# so no worker pays for that on its first page, or again at every full collection (docs/web.md).
# A code change then needs a restart, not a HUP.
preload_app = True
