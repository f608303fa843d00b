"""Replacing the PostgreSQL portability tables in bulk, and applying a daily delta.

Portability data is replaced whole, in one transaction: under an advisory lock
(one replacement at a time per database) a fresh `ported_next` table is filled
with COPY, gets its primary key (one sorted index build, much faster than
inserting into a B-tree), and is renamed into place; `portability_version` is
bumped and the old table dropped in the same transaction. Readers see the old
set whole until the commit, then the new set whole; they wait only for the
renames. A failure anywhere (a repeated key, an error from the rows) rolls it
all back, so no half-filled table is ever left behind. A daily delta
(`apply_delta`) is COPYed into a temporary table and applied to `ported` in
place by two statements, in one transaction under the same lock.

The store (store/postgres.py) keeps the connection, the transaction, the lock
and the statement time limit; the functions here run inside its transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import psycopg

LOAD_MAINTENANCE_MEM = "256MB"  # for the primary key built after a COPY


class Table:
    """The statements that replace one portability table (`ported` or `ranges`).

    The `_next` table repeats the columns of migrations_pg/0001_initial.sql; a
    migration that changes `ported` or `ranges` changes these with it.
    """

    def __init__(self, name: str, columns: str, key: str) -> None:
        self.name = name
        self.drop_leftovers = f"DROP TABLE IF EXISTS {name}_next, {name}_old"
        self.create_next = f"CREATE TABLE {name}_next ({columns})"
        self.copy = f"COPY {name}_next FROM STDIN"
        self.add_key = (
            f"ALTER TABLE {name}_next ADD CONSTRAINT {name}_next_pkey PRIMARY KEY ({key})"
        )
        self.analyze = f"ANALYZE {name}_next"
        self.swap = (
            f"ALTER TABLE {name} RENAME TO {name}_old",
            f"ALTER INDEX {name}_pkey RENAME TO {name}_old_pkey",
            f"ALTER TABLE {name}_next RENAME TO {name}",
            f"ALTER INDEX {name}_next_pkey RENAME TO {name}_pkey",
            "UPDATE meta SET value = value + 1 WHERE key = 'portability_version'",
            f"DROP TABLE {name}_old",
        )
        self.set_count = f"UPDATE meta SET value = %s WHERE key = '{name}_count'"


# A delta (apply_delta): COPY into a temporary table, then two set statements.
SQL_DELTA_CREATE = (
    "CREATE TEMPORARY TABLE ported_delta (msisdn BIGINT PRIMARY KEY, plmn TEXT) ON COMMIT DROP"
)
SQL_DELTA_COPY = "COPY ported_delta (msisdn, plmn) FROM STDIN"
SQL_DELTA_KNOWN = (
    "SELECT count(*) FROM ported_delta d JOIN ported p USING (msisdn) WHERE d.plmn IS NOT NULL"
)
SQL_DELTA_UPSERT = (
    "INSERT INTO ported (msisdn, plmn) SELECT msisdn, plmn FROM ported_delta"
    " WHERE plmn IS NOT NULL ORDER BY msisdn"
    " ON CONFLICT (msisdn) DO UPDATE SET plmn = EXCLUDED.plmn"
)
SQL_DELTA_DELETE = (
    "DELETE FROM ported p USING ported_delta d WHERE p.msisdn = d.msisdn AND d.plmn IS NULL"
)
SQL_DELTA_DONE = (
    "UPDATE meta SET value = value + %s WHERE key = 'ported_count'",
    "UPDATE meta SET value = value + 1 WHERE key = 'portability_version'",
)

PORTED = Table("ported", "msisdn BIGINT NOT NULL, plmn TEXT NOT NULL", "msisdn")
RANGES = Table("ranges", 'prefix TEXT COLLATE "C" NOT NULL, plmn TEXT NOT NULL', "prefix")


def replace_table(
    conn: psycopg.Connection[Any], table: Table, rows: Iterable[tuple[str, str]], chunk_rows: int
) -> int:
    """Fill the `_next` table with `rows`, `chunk_rows` at a time, and swap it in; the count."""
    conn.execute(table.drop_leftovers)
    conn.execute(table.create_next)
    count = _fill(conn, table, rows, chunk_rows)
    conn.execute(f"SET LOCAL maintenance_work_mem = '{LOAD_MAINTENANCE_MEM}'")
    conn.execute(table.add_key)
    conn.execute(table.analyze)
    for statement in table.swap:
        conn.execute(statement)
    conn.execute(table.set_count, (count,))
    return count


def _fill(
    conn: psycopg.Connection[Any], table: Table, rows: Iterable[tuple[str, str]], chunk_rows: int
) -> int:
    """COPY `rows` into the `_next` table, a chunk of text at a time."""
    rows = iter(rows)
    count = 0
    with conn.cursor() as cursor, cursor.copy(table.copy) as copy:
        while chunk := list(itertools.islice(rows, chunk_rows)):
            text = _copy_text(chunk)
            if text is not None:
                copy.write(text)
            else:  # a value with a tab, newline or backslash: let psycopg escape it
                for item in chunk:
                    copy.write_row(item)
            count += len(chunk)
    return count


def _copy_text(chunk: list[tuple[str, str]]) -> str | None:
    """COPY text format for rows of two plain values; None if any needs escaping."""
    text = "".join([f"{a}\t{b}\n" for a, b in chunk])
    rows = len(chunk)
    if text.count("\t") != rows or text.count("\n") != rows or "\\" in text or "\r" in text:
        return None
    return text


def apply_delta(conn: psycopg.Connection[Any], final: dict[str, str | None]) -> tuple[int, int]:
    """Apply {msisdn: MCC+MNC, or None for a return} to `ported`; (upserted, removed)."""
    conn.execute(SQL_DELTA_CREATE)
    with conn.cursor() as cursor, cursor.copy(SQL_DELTA_COPY) as copy:
        for msisdn, plmn in final.items():
            copy.write_row((int(msisdn), plmn))
    row = conn.execute(SQL_DELTA_KNOWN).fetchone()
    known = int(row[0]) if row else 0
    upserted = conn.execute(SQL_DELTA_UPSERT).rowcount
    removed = conn.execute(SQL_DELTA_DELETE).rowcount
    conn.execute(SQL_DELTA_DONE[0], (upserted - known - removed,))
    conn.execute(SQL_DELTA_DONE[1])
    return upserted, removed
