"""Persistent data: accounts, block rules, portability data, lookup records."""

from numlookup.store.base import Account, BlockRule, LookupRecord, Store, Versions

__all__ = ["Account", "BlockRule", "LookupRecord", "Store", "Versions"]
