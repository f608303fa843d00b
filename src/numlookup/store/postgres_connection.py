"""Connections to PostgreSQL: URLs, the libpq settings of every connection, and errors.

A connection is opened in autocommit mode with CONNECTION_PARAMS (a URL that
sets one of them wins); a URL is shown without its password (describe), and
psycopg errors are translated into numlookup.errors.StoreError (translated), or
into RecordsRejected where the caller names the errors that blame the rows.
The store (store/postgres.py) decides the time limits and when to connect again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from numlookup.errors import RecordsRejected, StoreError

# libpq settings of every connection (a URL that sets one of them wins). TCP
# keepalives and TCP_USER_TIMEOUT notice a server that vanished without closing
# the connection (host down, network cut: no RST ever comes) in about 30 s,
# where the kernel's defaults wait for hours; statement_timeout cannot, since
# it is the server that enforces it.
CONNECTION_PARAMS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 15,  # seconds idle before the first probe
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms that sent data may stay unacknowledged
}


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@contextmanager
def translated(what: str, rejected: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """psycopg errors into StoreError; those in `rejected` into RecordsRejected."""
    try:
        yield
    except rejected as exc:
        raise RecordsRejected(f"{what}: {_detail(exc)}") from exc
    except psycopg.Error as exc:
        raise store_error(what, exc) from exc


def store_error(what: str, exc: psycopg.Error) -> StoreError:
    return StoreError(f"{what}: {_detail(exc)}")


def _detail(exc: Exception) -> str:
    return str(exc).strip().replace("\n", " ")


def connect(
    url: str,
    connect_timeout: int,
    statement_timeout: float | None = None,
) -> psycopg.Connection[Any]:
    """A new autocommit connection; libpq parameters given in `url` win over ours."""
    with translated(f"connect to {describe(url)}"):
        given = conninfo_to_dict(url)
        params = {**CONNECTION_PARAMS, "connect_timeout": connect_timeout}
        conninfo = make_conninfo(url, **{k: v for k, v in params.items() if k not in given})
        conn = psycopg.connect(conninfo, autocommit=True, application_name="numlookup")
        if statement_timeout is not None:
            try:
                conn.execute(f"SET statement_timeout = {round(statement_timeout * 1000)}")
            except BaseException:
                conn.close()
                raise
        return conn
