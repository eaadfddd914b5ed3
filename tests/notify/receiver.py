"""A webhook receiver for the tests: `receiver.py PORT LOG FAIL_FIRST`.

Listens on 127.0.0.1:PORT, appends every POST (path, headers, raw body) to LOG as one JSON line,
and answers 500 to the first FAIL_FIRST of them, 204 afterwards.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log_path, fail_first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
seen = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server interface
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            seen += 1
            status = 500 if seen <= fail_first else 204
            with open(log_path, "a") as log:
                log.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode(), "answered": status}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        sys.stderr.write(format % args + "\n")


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
