"""A real PostgreSQL server for the tests, in a temporary directory on a free loopback port.

`.ci/run` installs Debian's `postgresql`; this starts its binaries directly
(`initdb`, then `postgres -D dir -k dir -p PORT -h 127.0.0.1`), as the
`postgres` OS user when the tests run as root (PostgreSQL refuses to run as
root). Authentication is `trust`, on loopback only. Durability is off
(fsync, synchronous_commit): the tests check behaviour, not crash safety.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

START_TIMEOUT = 30.0  # seconds for initdb + start-up
STOP_TIMEOUT = 10.0  # seconds after SIGINT (fast shutdown) before SIGKILL
OS_USER = "postgres"


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin, or the directory of `initdb` on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "postgres").exists():
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/postgres, no initdb"
        " on PATH): install them with `apt-get install postgresql` (.ci/run does)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One `postgres` process; `url(dbname)` connects to it as the `postgres` role."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="numlookup-pg-"))
        self.data = self.dir / "data"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        # As root, run as `postgres` (Popen's user=, like `runuser -u postgres --` but
        # with no process in between, so signals reach the server itself).
        self._as: dict[str, object] = {}
        if os.geteuid() == 0:
            shutil.chown(self.dir, OS_USER, OS_USER)
            self._as = {"user": OS_USER, "group": OS_USER, "extra_groups": []}

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> PostgresServer:
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
            cwd=self.dir,
            **self._as,  # type: ignore[call-overload]
        )
        self.port = free_port()
        self._launch()
        return self

    def _launch(self) -> None:
        """Run `postgres` on the data directory and port, and wait until it accepts."""
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - the process keeps it
        with log:
            self.proc = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-k",
                    str(self.dir),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=log,
                cwd=self.dir,
                **self._as,  # type: ignore[call-overload]
            )
        self._wait_ready()

    def halt(self) -> None:
        """Stop the server (fast shutdown: connections are ended), keeping its data and port."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(STOP_TIMEOUT)

    def resume(self) -> None:
        """Start the server again after `halt`: the same data directory, the same port."""
        assert self.proc is not None and self.proc.poll() is not None, "halt() it first"
        self._launch()

    def restart(self) -> None:
        self.halt()
        self.resume()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                break
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.05)
        log = (self.dir / "postgres.log").read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"postgres did not start: {last}\n{log}")

    def create_database(self, name: str, template: str = "template0") -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}'.encode())
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)


_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session (import this fixture to use it)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database of the session's PostgreSQL: tests stay independent."""
    return postgres_server.create_database(f"test_{next(_databases)}")


@pytest.fixture
def own_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may halt and resume."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
