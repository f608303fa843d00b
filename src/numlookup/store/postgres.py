"""The PostgreSQL store: every PostgreSQL statement of numlookup is in this module,
except the bulk replacement of portability data (store/postgres_bulk.py).

One `PostgresStore` is one connection (psycopg 3, synchronous) in autocommit
mode: a read is one statement; a write that needs more than one statement
opens an explicit transaction. Use each store from one thread at a time, as a
`SqliteStore`; the server opens one for its event loop and one for its record
writer, and any number of servers may share the database. A lost connection
(a server restart, a network cut) is opened again by the next call; every
statement has a time limit (STATEMENT_TIMEOUT) but those of imports, deltas and
migrations, so no call waits forever.

Schema changes are the numbered files in `migrations_pg/` (`0001_initial.sql`,
...), tracked one row per file in `schema_migrations`. Opening a store applies
the pending ones in one transaction under an advisory lock, so two processes
opening a new database at once create the schema once (`numlookup db upgrade`
does the same on purpose).

Portability data is replaced whole, and a daily delta applied, in one
transaction under an advisory lock: see store/postgres_bulk.py.

Connections are opened, with their libpq settings, by store/postgres_connection.py;
psycopg errors are translated into numlookup.errors.StoreError here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from typing import Any, TypeVar

import psycopg
from psycopg.types.numeric import Int8

from numlookup.errors import AccountExists, AccountNotFound, StoreError
from numlookup.numbers.msisdn import MAX_DIGITS
from numlookup.store._rows import account_from_row, account_values
from numlookup.store.base import Account, BlockRule, LookupRecord, Versions
from numlookup.store.postgres_bulk import PORTED, RANGES, Table, apply_delta, replace_table
from numlookup.store.postgres_connection import connect, store_error, translated
from numlookup.store.postgres_connection import describe as describe  # `numlookup db` uses it

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT = 10  # seconds to reach the server before StoreError
# For connections of the serving path, whose callers give up after a second or
# two anyway: a server that does not answer is tried again on the next call.
# libpq counts whole seconds, and takes anything below 2 as 2.
SERVING_CONNECT_TIMEOUT = 2
# Seconds any one statement may run before the server cancels it (StoreError).
# The server's statements are point look-ups, batches of them and COPYs of a
# few thousand lookup records, all well under a second; one still running after
# 10 s waits on a lock or a server in trouble, and would otherwise hold its
# thread (and, for the record writer, every record behind it) indefinitely.
# Imports, deltas and migrations lift it for their own transaction: they run for
# minutes on purpose.
STATEMENT_TIMEOUT = 10.0
# pg_advisory_*lock keys (any bigint; they only have to differ from each other).
MIGRATE_LOCK = 0x6E756D6C6F6F6B01  # "numlook" + 1
REPLACE_LOCK = 0x6E756D6C6F6F6B02
LOAD_CHUNK = 100_000  # rows turned into one COPY buffer at a time
RECORDS_FETCH = 1000  # lookup records fetched per round trip while streaming

# --------------------------------------------------------------------- SQL

SQL_CREATE_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
SQL_MIGRATIONS_TABLE = "SELECT to_regclass('schema_migrations') IS NOT NULL"
SQL_SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM schema_migrations"
SQL_ADD_MIGRATION = "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)"
SQL_MIGRATE_LOCK = "SELECT pg_advisory_xact_lock(%s)"
SQL_REPLACE_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"
SQL_NO_STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = 0"  # to the end of the transaction

_ACCOUNT_COLUMNS = "username, password_hash, service, max_ongoing, accepted_ranges, enabled"
SQL_LIST_ACCOUNTS = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY username"
SQL_GET_ACCOUNT = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE username = %s"
SQL_ACCOUNT_EXISTS = "SELECT 1 FROM accounts WHERE username = %s"
SQL_ADD_ACCOUNT = (
    f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (username) DO NOTHING"
)
SQL_UPDATE_ACCOUNT = (
    "UPDATE accounts SET password_hash = %s, service = %s, max_ongoing = %s,"
    " accepted_ranges = %s, enabled = %s WHERE username = %s"
)
SQL_REMOVE_ACCOUNT = "DELETE FROM accounts WHERE username = %s"
SQL_REMOVE_ACCOUNT_BLOCKS = "DELETE FROM blocks WHERE account = %s"

SQL_LIST_BLOCKS = "SELECT prefix, account FROM blocks ORDER BY prefix, coalesce(account, '')"
SQL_ADD_BLOCK = "INSERT INTO blocks (prefix, account) VALUES (%s, %s) ON CONFLICT DO NOTHING"
SQL_REMOVE_BLOCK = "DELETE FROM blocks WHERE prefix = %s AND account IS NOT DISTINCT FROM %s"

SQL_PORTED_LOOKUP = "SELECT plmn FROM ported WHERE msisdn = %s"
SQL_PORTED_LOOKUP_MANY = "SELECT msisdn, plmn FROM ported WHERE msisdn = ANY(%s)"
SQL_LIST_RANGES = "SELECT prefix, plmn FROM ranges ORDER BY prefix"
SQL_COUNTS = (
    "SELECT (SELECT value FROM meta WHERE key = 'ported_count'),"
    " (SELECT value FROM meta WHERE key = 'ranges_count')"
)
SQL_VERSIONS = (
    "SELECT (SELECT value FROM meta WHERE key = 'accounts_version'),"
    " (SELECT value FROM meta WHERE key = 'portability_version')"
)

_RECORD_COLUMNS = "time, account, msisdn, result, imsi, location, source, latency_us"
SQL_COPY_RECORDS = f"COPY records ({_RECORD_COLUMNS}) FROM STDIN"
# Errors that blame a record's content, never the connection: psycopg's own
# (a NUL in a text, a lone surrogate) and the server's SQLSTATE classes 22
# (data exception: out of range, invalid text) and 23 (a NULL in a NOT NULL
# column). A failed COPY writes none of its rows.
RECORD_REFUSALS = (psycopg.DataError, psycopg.IntegrityError, UnicodeEncodeError)
_RECORD_SELECT = f"SELECT {_RECORD_COLUMNS} FROM records WHERE time >= %s AND time < %s"
SQL_RECORDS = _RECORD_SELECT + " ORDER BY time, id"
SQL_RECORDS_OF_ACCOUNT = _RECORD_SELECT + " AND account = %s ORDER BY time, id"

# --------------------------------------------------------------- migrations


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL text) of each file in `migrations_pg/`, in order."""
    found = []
    for entry in resources.files("numlookup.store").joinpath("migrations_pg").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..n: {[n for _, n, _ in found]}")
    return found


# -------------------------------------------------------------------- store


def _storable(msisdn: str) -> bool:
    """Whether `msisdn` can be a stored ported number (a key of `ported`)."""
    # E.164 §6.2: no country code starts with 0, so no stored number does.
    return (
        0 < len(msisdn) <= MAX_DIGITS and msisdn.isdigit() and msisdn.isascii() and msisdn[0] != "0"
    )


class PostgresStore:
    """numlookup.store.base.Store on one PostgreSQL connection, opened again when lost.

    When the connection breaks (the server restarted, the network dropped it),
    the call that finds it broken fails with StoreError and the next call
    connects again, at most once per call. A read that finds a connection lost
    since the previous call (a server restart is only noticed then) is run once
    more on a new connection; a write is not, since it may have been applied
    before the connection broke: its caller decides whether to try again.
    """

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        connect_timeout: int = CONNECT_TIMEOUT,
        statement_timeout: float | None = STATEMENT_TIMEOUT,
    ) -> None:
        self.url = url
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._closed = False
        self._conn = self._open()
        try:
            self._new = self._migrate() if migrate else False
        except BaseException:
            self._conn.close()
            raise
        self._lookup = self._conn.cursor()

    def _open(self) -> psycopg.Connection[Any]:
        return connect(self.url, self._connect_timeout, self._statement_timeout)

    def _lost(self) -> bool:
        """The connection is unusable, and not because the store was closed."""
        return self._conn.closed and not self._closed

    def _reconnect(self) -> None:
        """Replace a lost connection (StoreError while the server cannot be reached)."""
        conn = self._open()
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        self._conn = conn
        self._lookup = conn.cursor()
        log.info("connected to %s again", describe(self.url))

    def _ready(self) -> psycopg.Connection[Any]:
        """The connection for a write: a new one first if the last one was lost."""
        if self._lost():
            self._reconnect()
        return self._conn

    def _read(self, what: str, run: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`run` a read on the connection; on a lost one, once more on a new connection."""
        try:
            return run(self._conn)
        except psycopg.Error as exc:
            if not self._lost():
                raise store_error(what, exc) from exc
        self._reconnect()
        with translated(what):
            return run(self._conn)

    # Life cycle --------------------------------------------------------------

    def _migrate(self) -> bool:
        """Apply the migrations the database lacks; True when it had no schema at all."""
        found = migrations()
        latest = found[-1][0]
        conn = self._conn
        with translated(f"migrate {describe(self.url)}"), conn.transaction():
            conn.execute(SQL_NO_STATEMENT_TIMEOUT)
            conn.execute(SQL_MIGRATE_LOCK, (MIGRATE_LOCK,))
            conn.execute(SQL_CREATE_MIGRATIONS)
            row = conn.execute(SQL_SCHEMA_VERSION).fetchone()
            current = int(row[0]) if row else 0
            if current > latest:
                raise StoreError(
                    f"{describe(self.url)}: schema version {current} is newer than this"
                    f" numlookup knows ({latest})"
                )
            for number, name, script in found:
                if number > current:
                    # No parameters: the simple query protocol runs the whole file.
                    conn.execute(script.encode())
                    conn.execute(SQL_ADD_MIGRATION, (number, name))
        return current == 0

    def is_new(self) -> bool:
        return self._new

    def schema_version(self) -> int:
        """The number of the last migration applied; 0 for a database without schema."""

        def run(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(SQL_MIGRATIONS_TABLE).fetchone()
            if not row or not row[0]:
                return 0
            row = conn.execute(SQL_SCHEMA_VERSION).fetchone()
            return int(row[0]) if row else 0

        return self._read("schema version", run)

    def close(self) -> None:
        self._closed = True
        with translated("close"):
            self._conn.close()

    # Accounts ----------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        rows = self._read("list accounts", lambda c: c.execute(SQL_LIST_ACCOUNTS).fetchall())
        return [account_from_row(row) for row in rows]

    def get_account(self, username: str) -> Account | None:
        row = self._read(
            "get account", lambda c: c.execute(SQL_GET_ACCOUNT, (username,)).fetchone()
        )
        return None if row is None else account_from_row(row)

    def add_account(self, account: Account) -> None:
        with translated(f"add account {account.username!r}"):
            cursor = self._ready().execute(
                SQL_ADD_ACCOUNT, (account.username, *account_values(account))
            )
            if cursor.rowcount == 0:
                raise AccountExists(f"account {account.username!r} exists")

    def update_account(self, account: Account) -> None:
        with translated(f"update account {account.username!r}"):
            cursor = self._ready().execute(
                SQL_UPDATE_ACCOUNT, (*account_values(account), account.username)
            )
            if cursor.rowcount == 0:
                raise AccountNotFound(f"no account {account.username!r}")

    def remove_account(self, username: str) -> None:
        """Remove the account and the block rules that name it."""
        conn = self._ready()
        with translated(f"remove account {username!r}"), conn.transaction():
            conn.execute(SQL_REMOVE_ACCOUNT_BLOCKS, (username,))
            if conn.execute(SQL_REMOVE_ACCOUNT, (username,)).rowcount == 0:
                raise AccountNotFound(f"no account {username!r}")

    # Block rules -------------------------------------------------------------

    def list_blocks(self) -> list[BlockRule]:
        rows = self._read("list block rules", lambda c: c.execute(SQL_LIST_BLOCKS).fetchall())
        return [BlockRule(prefix, account) for prefix, account in rows]

    def add_block(self, rule: BlockRule) -> bool:
        """False when the rule was there already; AccountNotFound for an unknown account."""
        conn = self._ready()
        with translated(f"add block rule {rule.prefix}"), conn.transaction():
            if (
                rule.account is not None
                and conn.execute(SQL_ACCOUNT_EXISTS, (rule.account,)).fetchone() is None
            ):
                raise AccountNotFound(f"no account {rule.account!r}")
            return conn.execute(SQL_ADD_BLOCK, (rule.prefix, rule.account)).rowcount == 1

    def remove_block(self, rule: BlockRule) -> bool:
        with translated(f"remove block rule {rule.prefix}"):
            cursor = self._ready().execute(SQL_REMOVE_BLOCK, (rule.prefix, rule.account))
            return cursor.rowcount == 1

    # Portability -------------------------------------------------------------

    def ported_lookup(self, msisdn: str) -> str | None:
        """MCC+MNC of a ported number; None for any other string. The server's hot path."""
        if not _storable(msisdn):
            return None
        # Int8: always the same parameter type, so always the one prepared statement.
        key = (Int8(int(msisdn)),)
        try:
            row = self._lookup.execute(SQL_PORTED_LOOKUP, key, prepare=True).fetchone()
        except psycopg.Error as exc:
            if not self._lost():
                raise StoreError(f"ported lookup: {exc}") from exc
            self._reconnect()
            with translated("ported lookup"):
                row = self._lookup.execute(SQL_PORTED_LOOKUP, key, prepare=True).fetchone()
        return None if row is None else str(row[0])

    def ported_lookup_many(self, msisdns: Sequence[str]) -> dict[str, str]:
        """{msisdn: MCC+MNC} of the ported numbers among `msisdns`, in one statement.

        As ported_lookup for each: a string that cannot be a stored number is
        skipped, and so is a number that is not ported.
        """
        # An int8[] parameter every time: one prepared statement for any batch size.
        keys = [Int8(int(msisdn)) for msisdn in msisdns if _storable(msisdn)]
        if not keys:
            return {}
        rows = self._read(
            "ported lookup",
            lambda c: c.execute(SQL_PORTED_LOOKUP_MANY, (keys,), prepare=True).fetchall(),
        )
        return {str(msisdn): str(plmn) for msisdn, plmn in rows}

    def list_ranges(self) -> list[tuple[str, str]]:
        rows = self._read("list ranges", lambda c: c.execute(SQL_LIST_RANGES).fetchall())
        return [(str(p), str(m)) for p, m in rows]

    def portability_counts(self) -> tuple[int, int]:
        row = self._read("portability counts", lambda c: c.execute(SQL_COUNTS).fetchone())
        assert row is not None
        return int(row[0]), int(row[1])

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

        As SqliteStore.apply_ported_delta: one transaction, the last change of a
        msisdn wins, `portability_version` bumped. It waits for no import: one
        running at the same time makes it fail with StoreError, changing nothing.
        """
        final = dict(changes)  # an error from `changes` leaves the store as it was
        if not final:
            return 0, 0
        conn = self._ready()
        with translated("apply ported delta"), conn.transaction():
            conn.execute(SQL_NO_STATEMENT_TIMEOUT)
            row = conn.execute(SQL_REPLACE_LOCK, (REPLACE_LOCK,)).fetchone()
            if not row or not row[0]:
                raise StoreError(
                    f"{describe(self.url)}: another import of portability data is running"
                )
            upserted, removed = apply_delta(conn, final)
        return upserted, removed

    def _replace(self, table: Table, rows: Iterable[tuple[str, str]]) -> int:
        conn = self._ready()
        with translated(f"replace {table.name}"), conn.transaction():
            conn.execute(SQL_NO_STATEMENT_TIMEOUT)
            row = conn.execute(SQL_REPLACE_LOCK, (REPLACE_LOCK,)).fetchone()
            if not row or not row[0]:
                raise StoreError(
                    f"{describe(self.url)}: another import of portability data is running"
                )
            count = replace_table(conn, table, rows, LOAD_CHUNK)
        return count

    # Lookup records ----------------------------------------------------------

    def insert_records(self, records: Sequence[LookupRecord]) -> None:
        if not records:
            return
        with (
            translated("insert lookup records", RECORD_REFUSALS),
            self._ready().cursor() as cursor,
            cursor.copy(SQL_COPY_RECORDS) as copy,
        ):
            for record in records:
                copy.write_row(record)

    def iter_records(
        self,
        since: float | None = None,
        until: float | None = None,
        account: str | None = None,
    ) -> Iterator[LookupRecord]:
        """Records with since <= time < until (either bound optional), by time.

        Streamed through a server-side cursor on a connection of its own, so a
        long export holds no transaction open on the store's connection.
        """
        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        if account is None:
            return self._stream(SQL_RECORDS, (low, high))
        return self._stream(SQL_RECORDS_OF_ACCOUNT, (low, high, account))

    def _stream(self, query: str, params: tuple[Any, ...]) -> Iterator[LookupRecord]:
        # No statement timeout: the first fetch may sort a month of records.
        conn = connect(self.url, self._connect_timeout)
        try:
            with (
                translated("read lookup records"),
                conn.transaction(),
                conn.cursor(name="numlookup_records") as cursor,
            ):
                cursor.itersize = RECORDS_FETCH
                cursor.execute(query, params)
                while batch := cursor.fetchmany(RECORDS_FETCH):
                    for row in batch:
                        yield LookupRecord(*row)
        finally:
            conn.close()

    # Change detection --------------------------------------------------------

    def versions(self) -> Versions:
        row = self._read("versions", lambda c: c.execute(SQL_VERSIONS, prepare=True).fetchone())
        assert row is not None
        return Versions(accounts=int(row[0]), portability=int(row[1]))
