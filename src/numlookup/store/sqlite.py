"""The SQLite store: every SQL statement of numlookup is in this module.

One `SqliteStore` is one connection. Use each from one thread at a time; the
server opens one for its event loop thread and one for its record writer. The
database runs in WAL mode, so readers never wait for the writer and always see
a whole committed state; writers queue on `busy_timeout`.

Schema changes are the numbered files in `migrations/` (`0001_initial.sql`,
...), applied in order inside one `BEGIN IMMEDIATE` transaction and tracked in
`PRAGMA user_version`, so two processes opening a new file at once create the
schema once.

Portability data is replaced whole. `replace_ported` loads the rows into a
fresh `ported_next` table in chunks, one short transaction each (each chunk
sorted first: a B-tree built in key order is several times faster to fill than
one built at random; a chunk that does not come after the ones before waits in
a scratch database and joins, sorted, at the end), then one short transaction
renames `ported` away, renames `ported_next` to `ported` and bumps
`portability_version`. Readers see the old set whole, then the new set
whole. The old table is dropped after the swap, outside it. A lock file beside
the database lets one replacement run at a time; a table left over by a crash
is dropped by the next replacement. A daily delta (`apply_ported_delta`)
changes `ported` in place instead, in one transaction under the same lock.

sqlite3 errors are translated into numlookup.errors.StoreError here.
"""

from __future__ import annotations

import itertools
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from numlookup.errors import AccountExists, AccountNotFound, StoreError
from numlookup.numbers.msisdn import MAX_DIGITS
from numlookup.store._rows import account_from_row, account_values
from numlookup.store.base import Account, BlockRule, LookupRecord, Versions

if sys.platform != "win32":
    import fcntl

BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another writer's transaction
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL file is truncated back to this after a checkpoint
# Page cache of a connection: the upper levels of a 100M-row ported B-tree
# (~5 MB) stay in it; the leaves come from the OS page cache, which a server's
# RSS does not count. Reading through mmap was ~1 µs faster per lookup, but every
# page it touched counted in the server's RSS (up to the whole file): the server
# must stay within 256 MB whatever the data size.
CACHE_KIB = 16 * 1024
MMAP_BYTES = 0
LOAD_CACHE_KIB = 16 * 1024  # page cache while a replacement table is filled (in key order)
LOAD_CHUNK = 50_000  # rows sorted and committed together while a replacement is filled
LOAD_AHEAD = 2  # chunks made ready by the reading thread while one is inserted
LOAD_PRAGMAS = {"cache_size": -LOAD_CACHE_KIB, "mmap_size": 0, "secure_delete": "FAST"}
LOAD_GROUP = 100  # rows per INSERT statement when a chunk cannot go as JSON
RECORDS_GROUP = 50  # lookup records per INSERT statement (8 columns: 400 parameters)

# --------------------------------------------------------------------- SQL

_ACCOUNT_COLUMNS = "username, password_hash, service, max_ongoing, accepted_ranges, enabled"
SQL_LIST_ACCOUNTS = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY username"
SQL_GET_ACCOUNT = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE username = ?"
SQL_ACCOUNT_EXISTS = "SELECT 1 FROM accounts WHERE username = ?"
SQL_ADD_ACCOUNT = (
    f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (username) DO NOTHING"
)
SQL_UPDATE_ACCOUNT = (
    "UPDATE accounts SET password_hash = ?, service = ?, max_ongoing = ?,"
    " accepted_ranges = ?, enabled = ? WHERE username = ?"
)
SQL_REMOVE_ACCOUNT = "DELETE FROM accounts WHERE username = ?"
SQL_REMOVE_ACCOUNT_BLOCKS = "DELETE FROM blocks WHERE account = ?"

SQL_LIST_BLOCKS = "SELECT prefix, account FROM blocks ORDER BY prefix, ifnull(account, '')"
SQL_ADD_BLOCK = "INSERT INTO blocks (prefix, account) VALUES (?, ?) ON CONFLICT DO NOTHING"
SQL_REMOVE_BLOCK = "DELETE FROM blocks WHERE prefix = ? AND account IS ?"

SQL_PORTED_LOOKUP = "SELECT plmn FROM ported WHERE msisdn = ?"
SQL_LIST_RANGES = "SELECT prefix, plmn FROM ranges ORDER BY prefix"
SQL_COUNTS = (
    "SELECT (SELECT value FROM meta WHERE key = 'ported_count'),"
    " (SELECT value FROM meta WHERE key = 'ranges_count')"
)
SQL_VERSIONS = (
    "SELECT (SELECT value FROM meta WHERE key = 'accounts_version'),"
    " (SELECT value FROM meta WHERE key = 'portability_version')"
)

# The replacement tables repeat the definitions of 0001_initial.sql; a
# migration that changes `ported` or `ranges` changes these with it.
SQL_PORTED_NEXT_CREATE = "CREATE TABLE ported_next (msisdn INTEGER PRIMARY KEY, plmn TEXT NOT NULL)"
SQL_RANGES_NEXT_CREATE = (
    "CREATE TABLE ranges_next (prefix TEXT PRIMARY KEY, plmn TEXT NOT NULL) WITHOUT ROWID"
)


class _Table:
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


# A delta (apply_ported_delta) changes `ported` in place, in one transaction.
DELTA_GROUP = 500  # msisdns per `IN (...)` count of the ones already ported
SQL_PORTED_UPSERT = (
    "INSERT INTO ported (msisdn, plmn) VALUES (?, ?)"
    " ON CONFLICT (msisdn) DO UPDATE SET plmn = excluded.plmn"
)
SQL_PORTED_DELETE = "DELETE FROM ported WHERE msisdn = ?"
SQL_PORTED_DELTA_DONE = (
    "UPDATE meta SET value = value + ? WHERE key = 'ported_count'",
    "UPDATE meta SET value = value + 1 WHERE key = 'portability_version'",
)

PORTED = _Table("ported", SQL_PORTED_NEXT_CREATE, numeric=True)
RANGES = _Table("ranges", SQL_RANGES_NEXT_CREATE, numeric=False)

SQL_INSERT_RECORD = (
    "INSERT INTO records (time, account, msisdn, result, imsi, location, source, latency_us)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
SQL_INSERT_RECORDS_GROUP = (
    "INSERT INTO records (time, account, msisdn, result, imsi, location, source, latency_us)"
    " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * RECORDS_GROUP)
)
_RECORD_SELECT = (
    "SELECT time, account, msisdn, result, imsi, location, source, latency_us FROM records"
    " WHERE time >= ? AND time < ?"
)
SQL_RECORDS = _RECORD_SELECT + " ORDER BY time, id"
SQL_RECORDS_OF_ACCOUNT = _RECORD_SELECT + " AND account = ? ORDER BY time, id"

PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous = NORMAL",  # WAL: durable at checkpoints, never corrupt
    f"PRAGMA cache_size = -{CACHE_KIB}",
    f"PRAGMA mmap_size = {MMAP_BYTES}",
    f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}",
)

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

# --------------------------------------------------------------- migrations


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL text) of each file in `migrations/`, in order."""
    found = []
    for entry in resources.files("numlookup.store").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..n: {[n for _, n, _ in found]}")
    return found


def statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration file, one at a time (triggers kept whole)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    rest = "\n".join(
        line for line in buffer.splitlines() if line.strip() and not line.strip().startswith("--")
    )
    if rest:
        raise StoreError(f"migration ends inside a statement: {rest[:60]!r}")


def repeated_keys(pairs: Iterable[tuple[str | int, int]]) -> dict[int, int]:
    """{line: the first line with the same key} for each (key, line) whose key came before.

    For checking an import file too large to remember its keys in memory: the
    pairs go into a private temporary database (on disk in SQLite's temporary
    directory, deleted when closed), whose page cache bounds the memory used.
    Keys are E.164 digits (they are stored as integers); lines increase.
    """
    with _translated("find repeated keys"):
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

    def rows(self) -> Iterator[tuple[str, str]]:
        """The rows in key order."""
        cursor = self._conn.execute(self._sorted)
        while batch := cursor.fetchmany(LOAD_CHUNK):
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


# -------------------------------------------------------------------- store


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{what}: {exc}") from exc


class SqliteStore:
    """numlookup.store.base.Store on one SQLite connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with _translated(f"open {path}"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"open {path}: {exc}") from exc
            # isolation_level=None: no implicit transactions; every write below
            # opens its own with BEGIN IMMEDIATE. check_same_thread=False: the
            # owner may hand the store to another thread (one at a time).
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                for pragma in PRAGMAS:
                    self._conn.execute(pragma)
                self._set_wal()
                self._new = self._migrate()
            except BaseException:
                self._conn.close()
                raise
        self._lookup = self._conn.cursor()

    # Life cycle --------------------------------------------------------------

    def _set_wal(self) -> None:
        # Changing the journal mode of a new file needs it to itself for a moment;
        # a second process doing the same at the same time may get SQLITE_BUSY
        # without the busy handler being called, so retry for the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            raise StoreError(f"open {self.path}: cannot use WAL mode (got {mode})")

    def _migrate(self) -> bool:
        """Apply the migrations the file lacks; True when it had no schema at all."""
        found = migrations()
        latest = found[-1][0]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > latest:
                raise StoreError(
                    f"{self.path}: schema version {current} is newer than this numlookup"
                    f" knows ({latest})"
                )
            for number, _name, script in found:
                if number > current:
                    for statement in statements(script):
                        conn.execute(statement)
            if current < latest:
                conn.execute(f"PRAGMA user_version = {int(latest)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return bool(current == 0)

    def is_new(self) -> bool:
        return self._new

    def schema_version(self) -> int:
        with _translated("schema version"):
            version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def close(self) -> None:
        with _translated("close"):
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):  # the original error says more
                    conn.execute("ROLLBACK")
            raise

    # Accounts ----------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        with _translated("list accounts"):
            return [
                account_from_row(row) for row in self._conn.execute(SQL_LIST_ACCOUNTS).fetchall()
            ]

    def get_account(self, username: str) -> Account | None:
        with _translated("get account"):
            row = self._conn.execute(SQL_GET_ACCOUNT, (username,)).fetchone()
        return None if row is None else account_from_row(row)

    def add_account(self, account: Account) -> None:
        with _translated(f"add account {account.username!r}"), self._write() as conn:
            cursor = conn.execute(SQL_ADD_ACCOUNT, (account.username, *account_values(account)))
            if cursor.rowcount == 0:
                raise AccountExists(f"account {account.username!r} exists")

    def update_account(self, account: Account) -> None:
        with _translated(f"update account {account.username!r}"), self._write() as conn:
            cursor = conn.execute(SQL_UPDATE_ACCOUNT, (*account_values(account), account.username))
            if cursor.rowcount == 0:
                raise AccountNotFound(f"no account {account.username!r}")

    def remove_account(self, username: str) -> None:
        """Remove the account and the block rules that name it."""
        with _translated(f"remove account {username!r}"), self._write() as conn:
            conn.execute(SQL_REMOVE_ACCOUNT_BLOCKS, (username,))
            if conn.execute(SQL_REMOVE_ACCOUNT, (username,)).rowcount == 0:
                raise AccountNotFound(f"no account {username!r}")

    # Block rules -------------------------------------------------------------

    def list_blocks(self) -> list[BlockRule]:
        with _translated("list block rules"):
            rows = self._conn.execute(SQL_LIST_BLOCKS).fetchall()
        return [BlockRule(prefix, account) for prefix, account in rows]

    def add_block(self, rule: BlockRule) -> bool:
        """False when the rule was there already; AccountNotFound for an unknown account."""
        with _translated(f"add block rule {rule.prefix}"), self._write() as conn:
            if (
                rule.account is not None
                and conn.execute(SQL_ACCOUNT_EXISTS, (rule.account,)).fetchone() is None
            ):
                raise AccountNotFound(f"no account {rule.account!r}")
            return conn.execute(SQL_ADD_BLOCK, (rule.prefix, rule.account)).rowcount == 1

    def remove_block(self, rule: BlockRule) -> bool:
        with _translated(f"remove block rule {rule.prefix}"), self._write() as conn:
            return conn.execute(SQL_REMOVE_BLOCK, (rule.prefix, rule.account)).rowcount == 1

    # Portability -------------------------------------------------------------

    def ported_lookup(self, msisdn: str) -> str | None:
        """MCC+MNC of a ported number; None for any other string. The server's hot path."""
        # E.164 §6.2: no country code starts with 0, so no stored number does.
        if not (0 < len(msisdn) <= MAX_DIGITS and msisdn.isdigit() and msisdn.isascii()):
            return None
        if msisdn[0] == "0":
            return None
        try:
            row = self._lookup.execute(SQL_PORTED_LOOKUP, (int(msisdn),)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"ported lookup: {exc}") from exc
        return None if row is None else str(row[0])

    def list_ranges(self) -> list[tuple[str, str]]:
        with _translated("list ranges"):
            return [(str(p), str(m)) for p, m in self._conn.execute(SQL_LIST_RANGES).fetchall()]

    def portability_counts(self) -> tuple[int, int]:
        with _translated("portability counts"):
            ported, ranges = self._conn.execute(SQL_COUNTS).fetchone()
        return int(ported), int(ranges)

    def replace_ported(self, rows: Iterable[tuple[str, str]]) -> int:
        """Replace every ported number with `rows` of (msisdn, MCC+MNC); the row count.

        The rows must be valid already: msisdn all ASCII digits without a leading
        zero, and no msisdn twice (a repeat raises StoreError and nothing changes).
        An exception from `rows` itself also leaves the old set in place.
        """
        return self._replace(PORTED, rows)

    def replace_ranges(self, rows: Iterable[tuple[str, str]]) -> int:
        """Replace every range with `rows` of (E.164 prefix, MCC+MNC); as replace_ported."""
        return self._replace(RANGES, rows)

    def apply_ported_delta(self, changes: Iterable[tuple[str, str | None]]) -> tuple[int, int]:
        """Apply (msisdn, MCC+MNC) upserts and (msisdn, None) returns; (upserted, removed).

        One transaction: readers see the old set or the new one whole. A msisdn
        given twice counts once, its last change wins. The msisdns must be valid
        already (ASCII digits without a leading zero). `portability_version` is
        bumped so running servers drop their portability cache; a return of a
        number that is not ported removes nothing.
        """
        final = dict(changes)  # an error from `changes` leaves the store as it was
        upserts = sorted((int(m), plmn) for m, plmn in final.items() if plmn is not None)
        returns = sorted((int(m),) for m, plmn in final.items() if plmn is None)
        if not final:
            return 0, 0
        with self._replacing(), _translated("apply ported delta"), self._write() as conn:
            known = 0
            for start in range(0, len(upserts), DELTA_GROUP):
                group = [m for m, _ in upserts[start : start + DELTA_GROUP]]
                marks = ", ".join(["?"] * len(group))
                sql = f"SELECT count(*) FROM ported WHERE msisdn IN ({marks})"
                known += int(conn.execute(sql, group).fetchone()[0])
            conn.executemany(SQL_PORTED_UPSERT, upserts)
            removed = conn.executemany(SQL_PORTED_DELETE, returns).rowcount if returns else 0
            conn.execute(SQL_PORTED_DELTA_DONE[0], (len(upserts) - known - removed,))
            conn.execute(SQL_PORTED_DELTA_DONE[1])
        return len(upserts), removed

    @contextmanager
    def _replacing(self) -> Iterator[None]:
        """One replacement at a time per database file, across processes.

        A `_next` table is filled over several transactions, so a second
        replacement at the same time would drop or mix into it. The lock is an
        flock(2) on a file beside the database: the kernel lets go of it when
        its process dies, so a crash leaves no stale lock.
        """
        if sys.platform == "win32":  # pragma: no cover - no flock there
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".import-lock")
        try:
            fh = open(lock_path, "a+b")  # noqa: SIM115 - `with fh` below
        except OSError as exc:
            raise StoreError(f"cannot open {lock_path}: {exc.strerror}") from exc
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(
                    f"{self.path}: another import of portability data is running"
                ) from None
            yield

    def _replace(self, table: _Table, rows: Iterable[tuple[str, str]]) -> int:
        conn = self._conn
        with self._replacing(), _translated(f"replace {table.name}"):
            with self._write():
                for statement in table.drop_leftovers:
                    conn.execute(statement)
                conn.execute(table.create_next)
            # While loading and dropping the old table, pages are read into the
            # small load cache instead of through mmap: the process's memory stays
            # bounded however large the tables (dropping one reads all its pages).
            # secure_delete FAST: the old table's pages are not all rewritten with
            # zeros when it is dropped (Debian builds SQLite with it on; 1.7 GB of
            # writes for 100M numbers), only what costs no extra I/O.
            saved = [conn.execute(f"PRAGMA {name}").fetchone() for name in LOAD_PRAGMAS]
            for name, value in LOAD_PRAGMAS.items():
                conn.execute(f"PRAGMA {name} = {value}")
            try:
                try:
                    count = self._fill(table, rows)
                    with self._write():
                        for statement in table.swap:
                            conn.execute(statement)
                        conn.execute(table.set_count, (count,))
                except BaseException:
                    # The original error says more; the next replace drops a leftover.
                    with suppress(sqlite3.Error), self._write():
                        conn.execute(table.drop_leftovers[0])
                    raise
                with self._write():
                    conn.execute(table.drop_old)
            finally:
                for name, row in zip(LOAD_PRAGMAS, saved, strict=True):
                    if row is not None:  # secure_delete reads 2 for FAST, and takes FAST
                        value = "FAST" if name == "secure_delete" and row[0] == 2 else int(row[0])
                        conn.execute(f"PRAGMA {name} = {value}")
        return count

    def _fill(self, table: _Table, rows: Iterable[tuple[str, str]]) -> int:
        """Insert `rows` into the `_next` table, a sorted chunk per transaction.

        A thread of its own reads `rows` and makes each chunk ready (sorted, as
        one JSON text) while this one inserts the chunk before: sqlite3 lets go
        of the GIL while a statement runs, so reading the file (Python) and
        filling the B-tree (SQLite) use two CPUs. A chunk whose keys do not all
        come after those inserted so far waits in a scratch database (_Late).
        """
        count = 0
        late: _Late | None = None
        try:
            with _Ahead(rows, LOAD_CHUNK, _Prepare(table.numeric)) as chunks:
                for chunk in chunks:
                    if chunk.in_order:
                        self._insert(table, chunk)
                    else:
                        if late is None:
                            late = _Late(table.numeric)
                        late.add(chunk)
                    count += chunk.size
            if late is not None:
                # Sorted, so in order of each other; all go in, among the others.
                with _Ahead(late.rows(), LOAD_CHUNK, _Prepare(table.numeric)) as chunks:
                    for chunk in chunks:
                        self._insert(table, chunk)
        finally:
            if late is not None:
                late.close()
        return count

    def _insert(self, table: _Table, chunk: _Chunk) -> None:
        with self._write() as conn:
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

    # Lookup records ----------------------------------------------------------

    def insert_records(self, records: Sequence[LookupRecord]) -> None:
        whole = len(records) - len(records) % RECORDS_GROUP
        with _translated("insert lookup records"), self._write() as conn:
            if whole:
                # RECORDS_GROUP rows per statement, as for portability loads.
                flat = itertools.chain.from_iterable(records[:whole])
                conn.executemany(
                    SQL_INSERT_RECORDS_GROUP, zip(*[flat] * (8 * RECORDS_GROUP), strict=True)
                )
            if whole < len(records):
                conn.executemany(SQL_INSERT_RECORD, records[whole:])

    def iter_records(
        self,
        since: float | None = None,
        until: float | None = None,
        account: str | None = None,
    ) -> Iterator[LookupRecord]:
        """Records with since <= time < until (either bound optional), by time."""
        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        with _translated("read lookup records"):
            if account is None:
                cursor = self._conn.execute(SQL_RECORDS, (low, high))
            else:
                cursor = self._conn.execute(SQL_RECORDS_OF_ACCOUNT, (low, high, account))
        return self._stream(cursor)

    @staticmethod
    def _stream(cursor: sqlite3.Cursor) -> Iterator[LookupRecord]:
        try:
            while True:
                try:
                    batch: list[tuple[Any, ...]] = cursor.fetchmany(1000)
                except sqlite3.Error as exc:
                    raise StoreError(f"read lookup records: {exc}") from exc
                if not batch:
                    return
                for row in batch:
                    yield LookupRecord(*row)
        finally:
            cursor.close()

    # Change detection --------------------------------------------------------

    def versions(self) -> Versions:
        with _translated("versions"):
            accounts, portability = self._conn.execute(SQL_VERSIONS).fetchone()
        return Versions(accounts=int(accounts), portability=int(portability))
