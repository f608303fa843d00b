"""Longest-prefix matching over E.164 digit strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")


class PrefixMap(Generic[V]):
    """Maps E.164 prefixes to values; `longest(number)` finds the longest that matches.

    A dict per prefix and the few distinct prefix lengths present: at most one
    dict probe per length, tried longest first.
    """

    __slots__ = ("_lengths", "_map")

    def __init__(self, items: Mapping[str, V] | Iterable[tuple[str, V]] = ()) -> None:
        self._map: dict[str, V] = dict(items)
        self._lengths = sorted({len(p) for p in self._map}, reverse=True)

    def longest(self, number: str) -> V | None:
        lookup = self._map.get
        for n in self._lengths:
            value = lookup(number[:n])
            if value is not None:
                return value
        return None

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and self.longest(number) is not None

    def __len__(self) -> int:
        return len(self._map)


class PrefixSet:
    """A set of prefixes: does any of them start `number`?"""

    __slots__ = ("_lengths", "_set")

    def __init__(self, prefixes: Iterable[str] = ()) -> None:
        self._set = frozenset(prefixes)
        self._lengths = sorted({len(p) for p in self._set})

    def matches(self, number: str) -> bool:
        s = self._set
        return any(number[:n] in s for n in self._lengths)

    def __bool__(self) -> bool:
        return bool(self._set)

    def __len__(self) -> int:
        return len(self._set)
