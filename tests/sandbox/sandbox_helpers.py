"""Constants and the control-API client shared by the sandbox tests (imported by name:
a module called ``conftest`` could clash with other test directories' conftest files)."""

import json
import urllib.request

from botocore.config import Config

WL_ZONE = "us-west-2-wl1-sfo-wlz-1"
WL_GROUP = "us-west-2-wl1"
WL_REGION = "us-west-2"
PARENT_ZONE = "us-west-2a"
STOCK_IMAGE_ID = "ami-12c6146b"
# botocore's client-config "max_attempts" counts *retries* ({"max_attempts": 1} still retries
# once); "total_max_attempts" counts attempts, so 1 really disables retries.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ONE_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


class SandboxControl:
    """The sandbox's URL and a tiny JSON client for its control API."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def post(self, path: str, body: dict | None = None) -> dict:
        return self.call("POST", path, body or {})

    def get(self, path: str) -> dict:
        return self.call("GET", path)

    def delete(self, path: str) -> dict:
        return self.call("DELETE", path)

    def count(self, action: str) -> int:
        return self.get("calls")["counts"].get(action, 0)
