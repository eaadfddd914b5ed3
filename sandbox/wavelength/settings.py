"""Process-wide sandbox settings shared by every backend (pending time, opt-in delay)."""

import threading


class BoundedSeconds:
    """A number of seconds between 0 and `maximum`, read and set from any thread."""

    def __init__(self, seconds: float, *, maximum: float, name: str):
        self._lock = threading.Lock()
        self._seconds = seconds
        self.maximum = maximum
        self.name = name

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._seconds

    def set(self, seconds: float) -> None:
        seconds = float(seconds)
        if not 0 <= seconds <= self.maximum:
            raise ValueError(f"{self.name} seconds must be between 0 and {self.maximum:g}")
        with self._lock:
            self._seconds = seconds
