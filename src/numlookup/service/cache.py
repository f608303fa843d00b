"""The lookup cache: outcomes per (service, MSISDN), each with its own time to live.

`Cache` is the seam; `MemoryCache` is the in-process implementation, a bounded
LRU map per service with an expiry time per entry. Which outcomes are kept, and
for how long, comes from the config (`cache.ttl`); transient outcomes are never
kept.

An entry is `msisdn -> (expiry, outcome number)`: a string key and a tuple of a
float and an int, none of which the garbage collector tracks, so a cache of a
million entries adds nothing to a full collection (holding the Outcome objects
themselves made each full collection walk every entry: pauses of tens of ms).
Outcomes are few and kept once each in a table.
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


class TtlTable:
    """How long to keep an outcome: per result code, per service; None: never kept."""

    def __init__(
        self,
        ttl: Mapping[ResultCode, float],
        service_ttl: Mapping[str, Mapping[ResultCode, float]] | None = None,
    ) -> None:
        """`ttl` for every service, unless `service_ttl` has a table for that service."""
        self._ttl = _cacheable(ttl)
        self._service_ttl = {name: _cacheable(t) for name, t in (service_ttl or {}).items()}

    def seconds(self, service: str, result: ResultCode) -> float | None:
        return self._service_ttl.get(service, self._ttl).get(result)


class MemoryCache:
    """A bounded in-process LRU cache with a time to live per result code."""

    def __init__(
        self,
        max_entries: int,
        ttl: Mapping[ResultCode, float],
        clock: Callable[[], float] = time.monotonic,
        service_ttl: Mapping[str, Mapping[ResultCode, float]] | None = None,
    ) -> None:
        """`ttl` for every service, unless `service_ttl` has a table for that service."""
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._ttl = TtlTable(ttl, service_ttl)
        self._clock = clock
        self._services: dict[str, OrderedDict[str, tuple[float, int]]] = {}
        self._size = 0
        self._outcomes: list[Outcome] = []
        self._numbers: dict[Outcome, int] = {}

    def get(self, service: str, msisdn: str) -> Outcome | None:
        entries = self._services.get(service)
        if entries is None:
            return None
        entry = entries.get(msisdn)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del entries[msisdn]
            self._size -= 1
            return None
        entries.move_to_end(msisdn)
        return self._outcomes[entry[1]]

    def put(self, service: str, msisdn: str, outcome: Outcome) -> None:
        entries = self._services.get(service)
        if entries is None:
            entries = self._services[service] = OrderedDict()
        ttl = self._ttl.seconds(service, outcome.result)
        if ttl is None:
            # A transient outcome also ends what was kept before: nocache asked afresh.
            if entries.pop(msisdn, None) is not None:
                self._size -= 1
            return
        number = self._numbers.get(outcome)
        if number is None:
            number = self._numbers[outcome] = len(self._outcomes)
            self._outcomes.append(outcome)
        if msisdn not in entries:
            self._size += 1
        entries[msisdn] = (self._clock() + ttl, number)
        entries.move_to_end(msisdn)
        if self._size > self._max:
            self._evict()

    def _evict(self) -> None:
        # The least recently used entry of the largest service goes first.
        largest = max(self._services.values(), key=len)
        largest.popitem(last=False)
        self._size -= 1

    def clear(self, service: str | None = None) -> None:
        if service is None:
            self._services.clear()
            self._size = 0
            return
        entries = self._services.pop(service, None)
        if entries is not None:
            self._size -= len(entries)

    def __len__(self) -> int:
        return self._size


def _cacheable(ttl: Mapping[ResultCode, float]) -> dict[ResultCode, float]:
    return {code: seconds for code, seconds in ttl.items() if code in CACHEABLE}
