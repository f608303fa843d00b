"""Persistent data: accounts, block rules, portability data, lookup records."""

from pathlib import Path

from numlookup.store.base import Account, BlockRule, LookupRecord, Store, Versions


def open_store(path: Path) -> Store:
    """The store kept in the SQLite file at `path`, created (with its schema) if absent."""
    from numlookup.store.sqlite import SqliteStore

    return SqliteStore(path)


__all__ = ["Account", "BlockRule", "LookupRecord", "Store", "Versions", "open_store"]
