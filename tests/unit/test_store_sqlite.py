"""The SQLite store's own behaviour: WAL, its migration runner, a file that is no database.

The Store methods are tested on both engines in tests/store/test_store.py.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from numlookup.errors import StoreError
from numlookup.store import open_store, sqlite
from numlookup.store.base import Store
from numlookup.store.sqlite import SqliteStore, statements


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "numlookup.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(path)
    yield opened
    opened.close()


# ------------------------------------------------------------- life cycle


def test_open_store_returns_a_store(path: Path) -> None:
    store: Store = open_store(path)
    assert store.is_new()
    store.close()


def test_the_file_is_in_wal_mode(store: SqliteStore, path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(path: Path) -> None:
    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(path)


def test_a_file_that_is_not_a_database_is_a_store_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        SqliteStore(path)


def test_migration_statements_keep_triggers_whole() -> None:
    script = (
        "-- a comment\nCREATE TABLE t (a);\n"
        "CREATE TRIGGER t_i AFTER INSERT ON t BEGIN\n  UPDATE t SET a = 1;\n  SELECT 1;\nEND;\n"
        "-- trailing comment\n"
    )
    found = list(statements(script))
    assert len(found) == 2
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")
    with pytest.raises(StoreError, match="inside a statement"):
        list(statements("CREATE TABLE t (a)\n"))


# ------------------------------------------------------------- bulk load


def test_a_failed_load_stops_reading_and_leaves_no_thread(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "LOAD_CHUNK", 10)
    read = 0

    def rows() -> Iterator[tuple[str, str]]:
        nonlocal read
        for n in range(100_000):
            read += 1
            yield str(46708100000 + (n if n != 25 else 24)), "24001"  # a repeat in chunk 3

    with pytest.raises(StoreError, match="UNIQUE"):
        store.replace_ported(rows())
    assert read < 1000  # the reading thread stopped soon after the failure
    assert not [t for t in threading.enumerate() if t.name == "numlookup-load"]
    assert store.replace_ported([("46708100200", "24004")]) == 1


def test_the_load_settings_are_put_back(store: SqliteStore) -> None:
    def settings() -> list[object]:
        return [store._conn.execute(f"PRAGMA {name}").fetchone()[0] for name in sqlite.LOAD_PRAGMAS]

    before = settings()
    assert before[:2] == [-sqlite.CACHE_KIB, sqlite.MMAP_BYTES]
    store.replace_ported([("46708100200", "24004")])
    assert settings() == before
    store._conn.execute("PRAGMA secure_delete = FAST")
    store.replace_ranges([("46", "24001")])
    assert settings()[2] == 2  # FAST
