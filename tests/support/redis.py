"""A real Redis server for the tests, in a temporary directory on a free loopback port.

`.ci/run` installs Debian's `redis-server`; this starts it with no persistence
(the tests check behaviour, not durability), bound to 127.0.0.1 only. `stop()`
and `start()` again keep the port, so tests can take Redis away from running
numlookup servers and give it back.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.postgres import free_port

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError(
            "redis-server not found: install it with `apt-get install redis-server` (.ci/run does)"
        )
    return found


class RedisServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="numlookup-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """redis-py, the reference client the tests compare with."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                find_redis_server(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.dir),
                "--logfile", str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with self.client() as client:
                    client.ping()
                return self
            except redis.RedisError as exc:
                last = exc
                time.sleep(0.05)
        log = (self.dir / "redis.log").read_text(errors="replace") if self.dir.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server did not start: {last}\n{log}")

    def stop(self) -> None:
        """Stop the server (the port and directory stay, for `start` again)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server(redis_session: RedisServer) -> RedisServer:
    """The session's Redis, running and empty (a test may have stopped or filled it)."""
    if redis_session.proc is None or redis_session.proc.poll() is not None:
        redis_session.start()
    with redis_session.client() as client:
        client.flushall()
    return redis_session
