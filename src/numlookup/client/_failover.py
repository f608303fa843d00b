"""Which server to ask first: the failover rules, without I/O.

Rules:
1. Servers are listed in order of preference (primary first, then backups).
2. A lookup tries them in turn, starting with the one that answered last, and
   moves to the next on a connection error, a timeout or a 5xx only.
3. The server that answers becomes the one to start with next time, so a
   client sticks to the backup while the primary is down instead of paying a
   failed connection per lookup.
4. While it sticks to a server that is not the first, every `recheck` seconds
   (30 s by default) a lookup starts from the first server again; the primary
   is back in use as soon as it answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

RECHECK = 30.0  # seconds between attempts to go back to the first server


class Failover:
    def __init__(
        self, servers: tuple[str, ...], recheck: float, clock: Callable[[], float]
    ) -> None:
        self.servers = servers
        self.recheck = recheck
        self._clock = clock
        self._current = 0
        self._recheck_at = 0.0
        self._lock = threading.Lock()

    @property
    def current(self) -> str:
        """The server the next lookup starts with (unless a recheck is due)."""
        return self.servers[self._current]

    def order(self) -> list[int]:
        """Indexes of the servers to try for one lookup, in order (rules 2 and 4)."""
        with self._lock:
            start = self._current
            if start and self._clock() >= self._recheck_at:
                start = 0
        count = len(self.servers)
        return [(start + step) % count for step in range(count)]

    def answered(self, index: int) -> None:
        """Server `index` answered a lookup (rule 3)."""
        with self._lock:
            if index != self._current or (index and self._clock() >= self._recheck_at):
                self._recheck_at = self._clock() + self.recheck
            self._current = index
