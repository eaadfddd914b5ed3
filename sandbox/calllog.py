"""The sandbox's call log: every AWS call, recorded when it arrives and when it completes."""

import itertools
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass

from sandbox.awsquery import AwsCall

DEFAULT_CAPACITY = 50_000


@dataclass
class PendingCall:
    entry: dict
    started: float


class CallLog:
    """A bounded ring of recent calls plus per-action counts since the last clear."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self._lock = threading.Lock()
        self._calls: deque[dict] = deque(maxlen=capacity)
        self._counts: Counter[str] = Counter()
        self._account_counts: defaultdict[str | None, Counter[str]] = defaultdict(Counter)
        self._sequence = itertools.count(1)

    def arrived(self, call: AwsCall) -> "PendingCall":
        """Record a call as it arrives (status still null)."""
        entry = {
            "seq": None,
            "action": call.action,
            "account": call.account,  # None when the credentials were refused
            "region": call.region,
            "status": None,
            "code": None,
            "started_at": time.time(),
            "duration_ms": None,
        }
        with self._lock:
            entry["seq"] = next(self._sequence)
            self._calls.append(entry)
            self._counts[call.action or "(none)"] += 1
            self._account_counts[call.account][call.action or "(none)"] += 1
        return PendingCall(entry, time.monotonic())

    def completed(self, pending: "PendingCall", status: int, code: str | None) -> None:
        """Record how a call ended: HTTP status, error code (None on success), duration."""
        duration_ms = round((time.monotonic() - pending.started) * 1000, 1)
        with self._lock:
            pending.entry.update(status=status, code=code, duration_ms=duration_ms)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._counts.clear()
            self._account_counts.clear()
            self._sequence = itertools.count(1)

    def snapshot(self, action: str | None = None, account: str | None = None) -> dict:
        """``{"counts": {...}, "calls": [...]}``, optionally only the calls of one action or account.

        ``counts`` are since the last clear, of every account (or of the one asked for).
        """
        with self._lock:
            calls = [
                dict(entry)
                for entry in self._calls
                if (action is None or entry["action"] == action) and (account is None or entry["account"] == account)
            ]
            counts = dict(self._counts) if account is None else dict(self._account_counts[account])
            return {"counts": counts, "calls": calls}
