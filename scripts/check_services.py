"""`make test` needs PostgreSQL and Redis: say clearly which one does not answer, and how to fix it."""

import os
import socket
import sys
from urllib.parse import urlparse

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wlpanel")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")


def answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    missing = []
    if not answers(DATABASE_URL, 5432):
        missing.append(f"PostgreSQL at {DATABASE_URL} (set DATABASE_URL or start PostgreSQL on 127.0.0.1:5432)")
    if not answers(BROKER_URL, 6379):
        missing.append(f"Redis at {BROKER_URL} (set CELERY_BROKER_URL or start Redis on 127.0.0.1:6379)")
    for item in missing:
        print(f"make test: not answering: {item}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
