"""Filling the SQLite portability tables in bulk, and the scratch databases it uses.

`SqliteStore.replace_ported` and `replace_ranges` load their rows into a fresh
`_next` table (`Table`: the statements that replace one table) in chunks, one
short transaction each. A thread of its own reads the rows and makes each
chunk ready (sorted, as one JSON text) while the store's connection inserts
the chunk before: sqlite3 lets go of the GIL while a statement runs, so
reading the file (Python) and filling the B-tree (SQLite) use two CPUs. Each
chunk is sorted first: a B-tree built in key order is several times faster to
fill than one built at random. A chunk whose keys do not all come after those
inserted so far waits in a scratch database and joins, sorted, at the end.

Scratch databases are private temporary files (SQLite's temporary directory),
for an import file's repeated keys (`repeated_keys`) and for rows that came
out of key order; their page cache bounds the memory used.

The store (store/sqlite.py) keeps the connection, its write transactions, the
replacement lock and the swap of the tables; this module fills them.
"""

from __future__ import annotations

import itertools
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, suppress
from operator import itemgetter
from typing import Generic, NamedTuple, TypeVar

from numlookup.errors import StoreError

LOAD_AHEAD = 2  # chunks made ready by the reading thread while one is inserted
LOAD_GROUP = 100  # rows per INSERT statement when a chunk cannot go as JSON

# The replacement tables repeat the definitions of 0001_initial.sql; a
# migration that changes `ported` or `ranges` changes these with it.
SQL_PORTED_NEXT_CREATE = "CREATE TABLE ported_next (msisdn INTEGER PRIMARY KEY, plmn TEXT NOT NULL)"
SQL_RANGES_NEXT_CREATE = (
    "CREATE TABLE ranges_next (prefix TEXT PRIMARY KEY, plmn TEXT NOT NULL) WITHOUT ROWID"
)


class Table:
    """The statements that replace one portability table (`ported` or `ranges`)."""

    def __init__(self, name: str, create_next: str, *, numeric: bool) -> None:
        self.name = name
        self.numeric = numeric  # keys are integers (digits without a leading zero), else text
        self.drop_leftovers = (
            f"DROP TABLE IF EXISTS {name}_next",
            f"DROP TABLE IF EXISTS {name}_old",
        )
        self.create_next = create_next
        # A chunk as one JSON object {"key":"plmn",...}: one statement, one bind.
        self.insert_json = f"INSERT INTO {name}_next SELECT key, value FROM json_each(?)"
        self.insert_group = f"INSERT INTO {name}_next VALUES " + ", ".join(["(?, ?)"] * LOAD_GROUP)
        self.insert_one = f"INSERT INTO {name}_next VALUES (?, ?)"
        self.swap = (
            f"ALTER TABLE {name} RENAME TO {name}_old",
            f"ALTER TABLE {name}_next RENAME TO {name}",
            "UPDATE meta SET value = value + 1 WHERE key = 'portability_version'",
        )
        self.set_count = f"UPDATE meta SET value = ? WHERE key = '{name}_count'"
        self.drop_old = f"DROP TABLE {name}_old"


PORTED = Table("ported", SQL_PORTED_NEXT_CREATE, numeric=True)
RANGES = Table("ranges", SQL_RANGES_NEXT_CREATE, numeric=False)

# Scratch databases: private temporary files (SQLite's temporary directory), for
# an import file's repeated keys and for rows that came out of key order.
SCRATCH_CACHE_KIB = 32 * 1024  # their page cache; a sort spills to disk beyond it
SQL_LATE_CREATE = "CREATE TABLE late (key TEXT NOT NULL, plmn TEXT NOT NULL)"
SQL_LATE_INSERT_JSON = "INSERT INTO late SELECT key, value FROM json_each(?)"
SQL_LATE_INSERT = "INSERT INTO late VALUES (?, ?)"
SQL_LATE_SORTED = "SELECT key, plmn FROM late ORDER BY key"
SQL_LATE_SORTED_NUMERIC = "SELECT key, plmn FROM late ORDER BY length(key), key"
SQL_REPEATS_CREATE = "CREATE TABLE keys (key INTEGER NOT NULL, line INTEGER NOT NULL)"
SQL_REPEATS_INSERT = "INSERT INTO keys VALUES (?, ?)"
SQL_REPEATS_INDEX = "CREATE INDEX keys_key ON keys (key, line)"
SQL_REPEATS = (
    "SELECT k.line, f.first FROM"
    " (SELECT key, min(line) AS first FROM keys GROUP BY key HAVING count(*) > 1) AS f"
    " JOIN keys AS k ON k.key = f.key AND k.line > f.first"
)

# SqliteStore._write: each chunk commits in a transaction of the store, on its connection.
_Write = Callable[[], AbstractContextManager[sqlite3.Connection]]


def fill(table: Table, rows: Iterable[tuple[str, str]], write: _Write, size: int) -> int:
    """Insert `rows` into the `_next` table, a sorted chunk of `size` rows per transaction.

    A thread of its own reads `rows` and makes each chunk ready (sorted, as
    one JSON text) while this one inserts the chunk before: sqlite3 lets go
    of the GIL while a statement runs, so reading the file (Python) and
    filling the B-tree (SQLite) use two CPUs. A chunk whose keys do not all
    come after those inserted so far waits in a scratch database (_Late).
    """
    count = 0
    late: _Late | None = None
    try:
        with _Ahead(rows, size, _Prepare(table.numeric)) as chunks:
            for chunk in chunks:
                if chunk.in_order:
                    _insert(write, table, chunk)
                else:
                    if late is None:
                        late = _Late(table.numeric)
                    late.add(chunk)
                count += chunk.size
        if late is not None:
            # Sorted, so in order of each other; all go in, among the others.
            with _Ahead(late.rows(size), size, _Prepare(table.numeric)) as chunks:
                for chunk in chunks:
                    _insert(write, table, chunk)
    finally:
        if late is not None:
            late.close()
    return count


def _insert(write: _Write, table: Table, chunk: _Chunk) -> None:
    with write() as conn:
        if isinstance(chunk.rows, str):
            conn.execute(table.insert_json, (chunk.rows,))
            return
        # Values JSON cannot carry as they are: LOAD_GROUP rows per statement.
        flat = list(itertools.chain.from_iterable(chunk.rows))
        width = 2 * LOAD_GROUP
        whole = len(flat) - len(flat) % width
        # zip(*[it] * n) groups the flat values n at a time, all in C.
        conn.executemany(table.insert_group, zip(*[iter(flat[:whole])] * width, strict=True))
        if whole < len(flat):
            conn.executemany(table.insert_one, chunk.rows[whole // 2 :])


def repeated_keys(pairs: Iterable[tuple[str | int, int]]) -> dict[int, int]:
    """{line: the first line with the same key} for each (key, line) whose key came before.

    For checking an import file too large to remember its keys in memory: the
    pairs go into a private temporary database (on disk in SQLite's temporary
    directory, deleted when closed), whose page cache bounds the memory used.
    Keys are E.164 digits (they are stored as integers); lines increase.
    """
    try:
        conn = _scratch()
        try:
            conn.execute(SQL_REPEATS_CREATE)
            conn.execute("BEGIN")
            conn.executemany(SQL_REPEATS_INSERT, pairs)
            conn.execute(SQL_REPEATS_INDEX)
            found = dict(conn.execute(SQL_REPEATS).fetchall())
            conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"find repeated keys: {exc}") from exc
    return found


def _scratch() -> sqlite3.Connection:
    """A connection to a new private temporary database, deleted when it is closed."""
    conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA cache_size = -{SCRATCH_CACHE_KIB}")
    return conn


class _Chunk(NamedTuple):
    """A chunk of a replacement, ready to insert."""

    size: int
    in_order: bool  # all its keys come after those of the in-order chunks before it
    rows: str | list[tuple[str, str]]  # one JSON object {"key":"plmn",...}, or the rows


def _order(key: str, numeric: bool) -> tuple[int, str]:
    """A key's place in its table: integers by length then digits (no leading zeros), text as is."""
    return (len(key), key) if numeric else (0, key)


def _numeric_order(row: tuple[str, str]) -> tuple[int, str]:
    return len(row[0]), row[0]


class _Prepare:
    """Makes each chunk of a replacement ready to insert, the chunks in file order.

    A chunk whose keys all come after the highest key of the in-order chunks
    so far is in order: sorted, it is appended at the B-tree's right edge
    instead of splitting pages all over it (sorting a chunk already in order
    is a linear scan). Any other chunk is left unsorted for the scratch
    database, which sorts them all at once (_Late). The rows become one JSON
    text, made by joins in C; values that would need escaping in JSON (or a
    row that is not a pair) keep the rows, for plain INSERTs.
    """

    def __init__(self, numeric: bool) -> None:
        self._numeric = numeric
        self._last: tuple[int, str] | None = None  # the highest key in order so far

    def __call__(self, chunk: list[tuple[str, str]]) -> _Chunk:
        numeric, last = self._numeric, self._last
        # A chunk that starts at or below `last` cannot be in order: no sort.
        in_order = last is None or _order(chunk[0][0], numeric) > last
        if in_order:
            chunk.sort()
            if numeric and len(set(map(len, map(itemgetter(0), chunk)))) > 1:
                chunk.sort(key=_numeric_order)  # text order is not number order across lengths
            in_order = last is None or _order(chunk[0][0], numeric) > last
            if in_order:
                self._last = _order(chunk[-1][0], numeric)
        try:
            text = '{"' + '","'.join(map('":"'.join, chunk)) + '"}'
        except TypeError:  # not strings
            return _Chunk(len(chunk), in_order, chunk)
        if text.count('"') != 4 * len(chunk) or "\\" in text or not text.isprintable():
            return _Chunk(len(chunk), in_order, chunk)
        return _Chunk(len(chunk), in_order, text)


class _Late:
    """Chunks that came out of key order, kept in a scratch database, read back sorted.

    Inserted where they belong, they would dirty pages all over a B-tree of
    100 million rows, each chunk a few thousand of them; SQLite sorts them on
    disk instead, and they join the replacement table in key order at the end.
    """

    def __init__(self, numeric: bool) -> None:
        self._conn = _scratch()
        self._conn.execute(SQL_LATE_CREATE)
        self._sorted = SQL_LATE_SORTED_NUMERIC if numeric else SQL_LATE_SORTED

    def add(self, chunk: _Chunk) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        if isinstance(chunk.rows, str):
            conn.execute(SQL_LATE_INSERT_JSON, (chunk.rows,))
        else:
            conn.executemany(SQL_LATE_INSERT, chunk.rows)
        conn.execute("COMMIT")

    def rows(self, size: int) -> Iterator[tuple[str, str]]:
        """The rows in key order, read `size` at a time."""
        cursor = self._conn.execute(self._sorted)
        while batch := cursor.fetchmany(size):
            yield from batch

    def close(self) -> None:
        self._conn.close()


_T = TypeVar("_T")
_R = TypeVar("_R")


class _Ahead(Generic[_T, _R]):
    """`make` of each chunk of `items`, made in a thread of its own a few chunks ahead.

    Iterate in a `with` block: leaving it (also on an error) stops the thread
    and waits for it. An exception raised by `items` or `make` is raised by
    the iteration.
    """

    _END = object()

    def __init__(self, items: Iterable[_T], size: int, make: Callable[[list[_T]], _R]) -> None:
        self._items = items
        self._size = size
        self._make = make
        self._queue: queue.Queue[object] = queue.Queue(maxsize=LOAD_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="numlookup-load", daemon=True)

    def __enter__(self) -> Iterator[_R]:
        self._thread.start()
        return self._results()

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # it may be waiting to put a chunk
            with suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _results(self) -> Iterator[_R]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def _run(self) -> None:
        try:
            items = iter(self._items)
            while not self._stop.is_set() and (chunk := list(itertools.islice(items, self._size))):
                self._put(self._make(chunk))
            self._put(self._END)
        except BaseException as exc:  # handed over to the iterating thread
            self._put(_Failure(exc))

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            with suppress(queue.Full):
                self._queue.put(item, timeout=0.05)
                return


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
