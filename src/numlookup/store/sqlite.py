"""The SQLite store: every SQL statement of numlookup is here or in store/sqlite_bulk.py.

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
a scratch database and joins, sorted, at the end; store/sqlite_bulk.py), then
one short transaction renames `ported` away, renames `ported_next` to `ported`
and bumps `portability_version`. Readers see the old set whole, then the new
set whole. The old table is dropped after the swap, outside it. A lock file
beside the database lets one replacement run at a time; a table left over by a
crash is dropped by the next replacement. A daily delta (`apply_ported_delta`)
changes `ported` in place instead, in one transaction under the same lock.

sqlite3 errors are translated into numlookup.errors.StoreError here.
"""

from __future__ import annotations

import itertools
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

from numlookup.errors import AccountExists, AccountNotFound, RecordsRejected, StoreError
from numlookup.numbers.msisdn import MAX_DIGITS
from numlookup.store._rows import account_from_row, account_values
from numlookup.store.base import Account, BlockRule, LookupRecord, Versions
from numlookup.store.sqlite_bulk import PORTED, RANGES, Table, fill

# csvimport and the tests find repeated keys through this module.
from numlookup.store.sqlite_bulk import repeated_keys as repeated_keys

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
LOAD_PRAGMAS = {"cache_size": -LOAD_CACHE_KIB, "mmap_size": 0, "secure_delete": "FAST"}
RECORDS_GROUP = 50  # lookup records per INSERT statement (8 columns: 400 parameters)
# Errors that blame a record's content, never the database: a NULL in a NOT NULL
# column, an integer beyond 64 bits, a lone surrogate. The transaction is rolled back.
RECORD_REFUSALS = (sqlite3.IntegrityError, sqlite3.DataError, OverflowError, UnicodeEncodeError)

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


# -------------------------------------------------------------------- store


@contextmanager
def _translated(what: str, rejected: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    try:
        yield
    except rejected as exc:
        raise RecordsRejected(f"{what}: {exc}") from exc
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

    def _replace(self, table: Table, rows: Iterable[tuple[str, str]]) -> int:
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
                    count = fill(table, rows, self._write, LOAD_CHUNK)
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

    # Lookup records ----------------------------------------------------------

    def insert_records(self, records: Sequence[LookupRecord]) -> None:
        whole = len(records) - len(records) % RECORDS_GROUP
        with _translated("insert lookup records", RECORD_REFUSALS), self._write() as conn:
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
