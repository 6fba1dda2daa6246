"""How often one caller may do one thing: a sliding window per key, kept in this process.

The public doors that need no token (the banner's choices, the privacy center's sign-in) use it,
so one visitor or one address cannot make the server record or mail without end. The counts
live in the process's memory: with several workers each holds its own window, so the figure a
vendor sets is per process (docs/privacy-center.md says so). Keys are forgotten once their
window has passed, and the number of keys held is bounded, so a flood of fresh keys costs
memory no more than `max_keys` entries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` events per key in any `seconds`; `admit` answers how long to wait."""

    def __init__(
        self, limit: int, seconds: float, max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("a window needs a limit of at least 1 and a positive length")
        self.limit, self.seconds, self.max_keys = limit, seconds, max_keys
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: str) -> float | None:
        """None when `key` may go ahead (and it is counted); else the seconds until it may."""
        now = self._clock()
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if len(times) >= self.limit:
                self._seen[key] = times
                return max(0.0, times[0] + self.seconds - now)
            times.append(now)
            self._seen[key] = times  # most recently used last
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return None
