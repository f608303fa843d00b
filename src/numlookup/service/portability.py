"""The Number Portability Lookup resolver: ported numbers first, then ranges.

A ported number beats the range it falls in; among ranges the longest prefix
wins; a number in neither is UNKNOWN_SUBSCRIBER. Ported numbers are looked up in
the database on each miss (a point query by integer key); ranges are few and
held in memory, reloaded when the data set changes.
"""

from __future__ import annotations

from numlookup.results import Outcome, ResultCode
from numlookup.service.prefixes import PrefixMap
from numlookup.store.base import Store

UNKNOWN = Outcome(ResultCode.UNKNOWN_SUBSCRIBER)


class PortabilityResolver:
    service = "portability"
    source = "database"
    counts_as_ongoing = False

    def __init__(self, store: Store) -> None:
        self._store = store
        self._ok: dict[str, Outcome] = {}
        self._ranges: PrefixMap[Outcome] = PrefixMap()
        self.reload()

    def reload(self) -> None:
        """Read the ranges again (after an import replaced them)."""
        self._ranges = PrefixMap(
            (prefix, self._outcome(plmn)) for prefix, plmn in self._store.list_ranges()
        )

    def _outcome(self, plmn: str) -> Outcome:
        outcome = self._ok.get(plmn)
        if outcome is None:
            outcome = self._ok[plmn] = Outcome(ResultCode.OK, imsi=plmn)
        return outcome

    def resolve(self, msisdn: str) -> Outcome:
        plmn = self._store.ported_lookup(msisdn)
        if plmn is not None:
            return self._outcome(plmn)
        return self._ranges.longest(msisdn) or UNKNOWN
