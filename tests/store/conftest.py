"""The `store` fixture: each test of this folder runs on SQLite and on PostgreSQL.

PostgreSQL is one real server for the session (tests/support/postgres.py);
each test gets a database of its own, so tests are independent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from numlookup.store import postgres, sqlite
from numlookup.store.base import Store
from tests.support.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures, shared with other folders


@dataclass
class Engine:
    """One database of one engine: open stores on it, run raw SQL on it."""

    name: str
    open: Callable[[], Store]
    execute: Callable[[str], None]
    migrations: int


def _sqlite_engine(path: Path) -> Engine:
    def execute(sql: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql)

    return Engine("sqlite", lambda: sqlite.SqliteStore(path), execute, len(sqlite.migrations()))


def _postgres_engine(url: str) -> Engine:
    def execute(sql: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.encode())

    return Engine(
        "postgresql", lambda: postgres.PostgresStore(url), execute, len(postgres.migrations())
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return _sqlite_engine(tmp_path / "var" / "numlookup.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return _postgres_engine(url)


@pytest.fixture
def store(engine: Engine) -> Iterator[Store]:
    opened = engine.open()
    yield opened
    opened.close()
