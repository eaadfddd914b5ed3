"""The embedded stand-in broker (wlpanel/broker.py) between real processes.

Publishers write large messages while two consumers poll hard: with kombu's own filesystem
transport a consumer soon takes a message that is still being written and dies on it; here every
message must arrive once, whole.
"""

import json
import subprocess
import sys

from tests.conftest import ROOT

TRANSPORT = "wlpanel.broker:Transport"
PUBLISHERS, MESSAGES, BLOB = 3, 20, 1_000_000

PUBLISH = """
import json, sys
from kombu import Connection
transport, options, sender, count, size = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with Connection("filesystem://", transport=transport, transport_options=options) as conn:
    queue = conn.SimpleQueue("jobs")
    for i in range(count):
        queue.put({"sender": sender, "i": i, "blob": "x" * size})
"""

# Stops once the stop file exists and the queue is then found empty (all publishers have exited).
CONSUME = """
import json, os, sys
from queue import Empty
from kombu import Connection
transport, options, stop = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
received = []
with Connection("filesystem://", transport=transport, transport_options=options) as conn:
    queue = conn.SimpleQueue("jobs")
    while True:
        stopping = os.path.exists(stop)
        try:
            message = queue.get(timeout=0.2)
        except Empty:
            if stopping:
                break
            continue
        received.append([message.payload["sender"], message.payload["i"], len(message.payload["blob"])])
        message.ack()
print(json.dumps(received))
"""


def python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_messages_from_several_processes_arrive_once_and_whole(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = json.dumps(
        {
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
            "polling_interval": 0.001,  # poll as hard as a busy worker can, to meet writes in progress
        }
    )
    stop = tmp_path / "stop"
    consumers = [python(CONSUME, TRANSPORT, options, str(stop)) for _ in range(2)]
    publishers = [
        python(PUBLISH, TRANSPORT, options, f"p{n}", str(MESSAGES), str(BLOB)) for n in range(PUBLISHERS)
    ]
    for publisher in publishers:
        _, errors = publisher.communicate(timeout=120)
        assert publisher.returncode == 0, errors
    stop.touch()

    received = []
    for consumer in consumers:
        output, errors = consumer.communicate(timeout=120)
        assert consumer.returncode == 0, errors[-3000:]
        received += [tuple(item) for item in json.loads(output)]

    expected = {(f"p{n}", i, BLOB) for n in range(PUBLISHERS) for i in range(MESSAGES)}
    assert sorted(received) == sorted(expected), "each message exactly once, whole"
    leftovers = list(folders["queue"].iterdir()) + list(folders["processed"].iterdir())
    assert not leftovers, "nothing left behind, not even a staging file"
