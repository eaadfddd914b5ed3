"""The half of test_embedded_fallback.py that runs inside the panel's network namespace.

Only there does 127.0.0.1 reach the panel, so this walks the scenario over HTTP and prints what
it saw as one JSON object; the test asserts on it. Standard library and requests only: Django
settings here would pick the machine's PostgreSQL, which this namespace cannot reach anyway.

    python tests/e2e/fallback_client.py BASE_URL SANDBOX_URL PASSWORD ALICE_TOKEN BOB_TOKEN
"""

import json
import re
import sys
import time

import requests

ZONE = "us-west-2-wl1-sfo-wlz-1"
DEADLINE_SECONDS = 120


def api(base: str, token: str):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return lambda method, path, **kwargs: session.request(method, f"{base}/api{path}", timeout=30, **kwargs)


def wait_for_state(call, environment_id: int, final: set[str]) -> dict:
    """Poll the environment until it reaches one of `final`; return every state seen, in order."""
    started, seen, body = time.monotonic(), [], {}
    while time.monotonic() - started < DEADLINE_SECONDS:
        body = call("GET", f"/environments/{environment_id}").json()
        if not seen or seen[-1] != body["state"]:
            seen.append(body["state"])
        if body["state"] in final:
            break
        time.sleep(0.5)
    steps = {step["key"]: step["state"] for step in body.get("steps", [])} if body.get("steps") else {}
    return {"states": seen, "seconds": round(time.monotonic() - started, 1), "steps": steps}


def login(base: str, username: str, password: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    page = browser.get(f"{base}/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    home = browser.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    who = re.search(r'data-testid="logged-in-as">([^<]+)<', home.text)
    return browser, who.group(1) if who else ""


def main(base: str, sandbox: str, password: str, alice_token: str, bob_token: str) -> dict:
    result: dict = {}
    started = time.monotonic()
    while True:  # gunicorn starts listening a moment after run.py says so
        try:
            health = requests.get(f"{base}/healthz", timeout=5)
            break
        except requests.ConnectionError:
            if time.monotonic() - started > 60:
                raise
            time.sleep(0.3)
    result["health"] = {"status": health.status_code, **health.json()}

    browser, result["logged_in_as"] = login(base, "alice", password)
    alice, bob = api(base, alice_token), api(base, bob_token)

    body = {"name": "edge-fallback", "team": "demo", "zone": ZONE, "instance_type": "t3.medium"}
    created = alice("POST", "/requests", json=body)
    result["request_status"] = created.status_code
    request_id = created.json()["id"]
    plan_hash = bob("GET", f"/requests/{request_id}").json()["plan_hash"]
    approved = bob(
        "POST", f"/requests/{request_id}/approve", json={"comment": "fallback e2e", "plan_hash": plan_hash}
    )
    result["approve_status"] = approved.status_code
    environment_id = approved.json()["environment_id"]
    result["environment_id"] = environment_id

    result["build"] = wait_for_state(alice, environment_id, {"ready", "failed"})
    result["detail_page_status"] = browser.get(
        f"{base}/environments/{environment_id}/", timeout=30
    ).status_code
    result["traffic_rows"] = len(
        alice("GET", f"/environments/{environment_id}/traffic").json().get("items", [])
    )
    result["inventory_when_ready"] = requests.get(
        f"{sandbox}/_sandbox/inventory", params={"tag": f"wlpanel:environment={environment_id}"}, timeout=10
    ).json()["items"]

    destroy = alice("POST", f"/environments/{environment_id}/destroy", json={"reason": "fallback e2e done"})
    result["destroy_status"] = destroy.status_code
    result["teardown"] = wait_for_state(alice, environment_id, {"destroyed", "destroy_failed"})
    result["inventory_after_destroy"] = requests.get(
        f"{sandbox}/_sandbox/inventory", params={"tag": f"wlpanel:environment={environment_id}"}, timeout=10
    ).json()["items"]
    result["sandbox_calls"] = requests.get(f"{sandbox}/_sandbox/calls", timeout=10).json()["counts"]
    return result


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:6])))
