"""Process-wide sandbox settings shared by every backend (pending time, opt-in delay, session cap)."""

import threading


class BoundedSeconds:
    """A number of seconds between `minimum` and `maximum`, read and set from any thread.

    With ``optional=True`` the value may also be None (the setting is off).
    """

    def __init__(
        self,
        seconds: float | None,
        *,
        maximum: float,
        name: str,
        minimum: float = 0,
        optional: bool = False,
    ):
        self._lock = threading.Lock()
        self.minimum = minimum
        self.maximum = maximum
        self.name = name
        self.optional = optional
        self._seconds = self._checked(seconds)

    @property
    def seconds(self) -> float | None:
        with self._lock:
            return self._seconds

    def set(self, seconds: float | None) -> None:
        checked = self._checked(seconds)
        with self._lock:
            self._seconds = checked

    def _checked(self, seconds: float | None) -> float | None:
        if seconds is None and self.optional:
            return None
        if seconds is None or isinstance(seconds, bool):
            raise ValueError(f"{self.name} seconds must be a number")
        seconds = float(seconds)
        if not self.minimum <= seconds <= self.maximum:
            off = " (or null for none)" if self.optional else ""
            raise ValueError(
                f"{self.name} seconds must be between {self.minimum:g} and {self.maximum:g}{off}"
            )
        return seconds
