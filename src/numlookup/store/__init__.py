"""Persistent data: accounts, block rules, portability data, lookup records."""

from pathlib import Path

from numlookup.store.base import Account, BlockRule, LookupRecord, Store, Versions


def open_store(path: Path, *, seed_demo: bool = False, url: str | None = None) -> Store:
    """The store of the configuration: PostgreSQL at `url`, else the SQLite file at `path`.

    Either is created (with its schema) if absent, and its pending migrations
    applied. With `seed_demo`, a database this call creates gets the demo
    account and data (whoever opens a new database first, the server or a
    command, seeds it).
    """
    store: Store
    if url is not None:
        from numlookup.store.postgres import PostgresStore

        store = PostgresStore(url)
    else:
        from numlookup.store.sqlite import SqliteStore

        store = SqliteStore(path)
    if seed_demo and store.is_new():
        from numlookup.store import demo

        demo.seed(store)
    return store


__all__ = ["Account", "BlockRule", "LookupRecord", "Store", "Versions", "open_store"]
