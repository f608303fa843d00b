"""The lookup cache: outcomes per (service, MSISDN), each with its own time to live.

`Cache` is the seam; `MemoryCache` is the in-process implementation, a bounded
LRU map with an expiry time per entry. Which outcomes are kept, and for how long,
comes from the config (`cache.ttl`); transient outcomes are never kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from numlookup.results import CACHEABLE, Outcome, ResultCode


class Cache(Protocol):
    def get(self, service: str, msisdn: str) -> Outcome | None: ...
    def put(self, service: str, msisdn: str, outcome: Outcome) -> None: ...
    def clear(self, service: str | None = None) -> None: ...
    def __len__(self) -> int: ...


class MemoryCache:
    """A bounded in-process LRU cache with a time to live per result code."""

    def __init__(
        self,
        max_entries: int,
        ttl: Mapping[ResultCode, float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._ttl = {code: seconds for code, seconds in ttl.items() if code in CACHEABLE}
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Outcome]] = OrderedDict()

    def get(self, service: str, msisdn: str) -> Outcome | None:
        key = (service, msisdn)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, service: str, msisdn: str, outcome: Outcome) -> None:
        ttl = self._ttl.get(outcome.result)
        key = (service, msisdn)
        if ttl is None:
            # A transient outcome also ends what was kept before: nocache asked afresh.
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + ttl, outcome)
        self._entries.move_to_end(key)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self, service: str | None = None) -> None:
        if service is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == service]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
