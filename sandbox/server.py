"""Serve the sandbox: moto with Wavelength, behind the sandbox middleware, on loopback.

``start()`` runs it in a background thread (tests, benchmarks); ``serve_forever()`` runs it in
the foreground until SIGTERM or SIGINT (the ``sandbox`` management command).
"""

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.middleware import SandboxMiddleware
from sandbox.runtime import SandboxRuntime
from sandbox.wavelength.availability_zones import DEFAULT_OPT_IN_SECONDS
from sandbox.wavelength.instances import DEFAULT_PENDING_SECONDS

LOOPBACK = "127.0.0.1"


class QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxServer:
    """A threaded HTTP server answering AWS calls (the known keys: sandbox/credentials.py) and ``/_sandbox/`` control calls."""

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        pending_seconds: float = DEFAULT_PENDING_SECONDS,
        opt_in_seconds: float = DEFAULT_OPT_IN_SECONDS,
        log_requests: bool = False,
    ):
        self.runtime = SandboxRuntime(pending_seconds=pending_seconds, opt_in_seconds=opt_in_seconds)
        app = SandboxMiddleware(DomainDispatcherApplication(create_backend_app), self.runtime)
        handler = MotoRequestHandler if log_requests else QuietRequestHandler
        # Binding happens here: once constructed, the server accepts connections.
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=handler)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        """Serve in a daemon thread; returns at once (the socket already listens)."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.runtime.labs.teardown_all()


def start(host: str = LOOPBACK, port: int = 0, **options) -> SandboxServer:
    """Start a sandbox in a background thread; ``port=0`` picks a free port (see ``.url``).

    Options: ``pending_seconds`` (default 5, at most 30), ``opt_in_seconds`` (how long an opt-in
    takes to show, default 5), ``log_requests`` (default False).
    moto's state is global to the process: two servers in one process share it.
    """
    return SandboxServer(host=host, port=port, **options).start()


def serve_forever(
    host: str = LOOPBACK,
    port: int = 0,
    *,
    ready_file: str | os.PathLike | None = None,
    announce: Callable[[str], None] = print,
    **options,
) -> None:
    """Serve in the foreground until SIGTERM or SIGINT.

    Once listening, ``announce`` gets ``sandbox listening on http://HOST:PORT`` and the URL is
    written to ``ready_file`` (atomically) if one is given.
    """
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server = start(host, port, **options)
    try:
        announce(f"sandbox listening on {server.url}")
        if ready_file is not None:
            _write_atomically(Path(ready_file), server.url + "\n")
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
