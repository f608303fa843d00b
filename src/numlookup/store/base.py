"""The store seam: what the server and the CLI need from a database.

One implementation per engine (`numlookup.store.sqlite` now); all SQL of an
engine lives in its module. Methods are synchronous: the SQLite point look-ups
take microseconds and run on the event loop's thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

SERVICES = ("portability", "realtime")


@dataclass(frozen=True, slots=True)
class Account:
    """A client's credentials and limits (the spec's CAD document)."""

    username: str
    password_hash: str  # argon2id, encoded with its salt and parameters
    service: str = "portability"  # one of SERVICES
    max_ongoing: int = 100  # requests in progress at once; one more is REQUEST_THROTTLED
    accepted_ranges: tuple[str, ...] = ()  # E.164 prefixes; empty: every number
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class BlockRule:
    """Lookups of numbers under `prefix` are answered IMSI_LOOKUP_BLOCKED."""

    prefix: str
    account: str | None = None  # None: every account


class LookupRecord(NamedTuple):
    """One answered lookup, for billing.

    A tuple, field for field the columns of the records table: one is made on
    every request, and the store binds it as it is.
    """

    time: float  # Unix time, seconds
    account: str
    msisdn: str
    result: str  # the result code's wire text
    imsi: str | None  # MCC+MNC on OK
    location: str | None
    source: str  # "cache", "database", "hlr", or "none" (refused before any look-up)
    latency_us: int


@dataclass(frozen=True, slots=True)
class Versions:
    """Counters bumped by every change; the server polls them to reload."""

    accounts: int  # accounts and block rules
    portability: int  # ported numbers and ranges


class Store(Protocol):
    # Accounts ---------------------------------------------------------------
    def list_accounts(self) -> list[Account]: ...
    def get_account(self, username: str) -> Account | None: ...
    def add_account(self, account: Account) -> None: ...  # AccountExists
    def update_account(self, account: Account) -> None: ...  # AccountNotFound
    def remove_account(self, username: str) -> None: ...  # AccountNotFound

    # Block rules ------------------------------------------------------------
    def list_blocks(self) -> list[BlockRule]: ...
    def add_block(self, rule: BlockRule) -> bool: ...  # False: it was there already
    def remove_block(self, rule: BlockRule) -> bool: ...  # False: there was none

    # Portability ------------------------------------------------------------
    def ported_lookup(self, msisdn: str) -> str | None: ...  # MCC+MNC of a ported number
    def list_ranges(self) -> list[tuple[str, str]]: ...  # (E.164 prefix, MCC+MNC)
    def replace_ported(self, rows: Iterable[tuple[str, str]]) -> int: ...
    def replace_ranges(self, rows: Iterable[tuple[str, str]]) -> int: ...
    def apply_ported_delta(self, changes: Iterable[tuple[str, str | None]]) -> tuple[int, int]: ...
    def portability_counts(self) -> tuple[int, int]: ...  # (ported numbers, ranges)

    # Lookup records ---------------------------------------------------------
    def insert_records(self, records: Sequence[LookupRecord]) -> None: ...
    def iter_records(
        self,
        since: float | None = None,
        until: float | None = None,
        account: str | None = None,
    ) -> Iterator[LookupRecord]: ...

    # Change detection and life cycle ---------------------------------------
    def versions(self) -> Versions: ...
    def is_new(self) -> bool: ...  # True right after the schema was first created
    def close(self) -> None: ...
