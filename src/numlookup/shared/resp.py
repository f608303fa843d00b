"""A pipelined Redis connection on the event loop.

hiredis does the protocol (RESP): `pack_command` writes commands, `Reader`
parses replies. What is ours is the asyncio adapter: every command is queued
and the queue is written once per loop iteration, replies are matched to
commands in order (Redis answers in order on one connection), so a thousand
concurrent lookups cost one write and one read of the socket, not a thousand.

Why not redis-py's asyncio client: on this machine it spent 96 µs of CPU per
GET (18k GET/s with 64 concurrent callers), eight times the whole cost of a
cached lookup; this adapter spends 1.5 µs per GET under the same load. The
tests check it against redis-py on a real Redis.

A connection that fails, or leaves a command unanswered longer than `timeout`,
is closed: every command waiting on it fails with SharedStoreError at once,
and new commands fail at once (no waiting on a dead server) until a reconnect,
retried in the background with a doubling delay, succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis.connection import parse_url

from numlookup.errors import SharedStoreError

log = logging.getLogger(__name__)

Arg = str | bytes | int | float


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        """redis://[[user]:password@]host[:port][/db]; raises ValueError otherwise."""
        if not url.startswith("redis://"):
            raise ValueError("expected 'redis://host:port/db'")
        parts: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        return cls(
            host=str(parts.get("host") or "127.0.0.1"),
            port=int(parts.get("port") or 6379),
            db=int(parts.get("db") or 0),
            username=parts.get("username"),
            password=parts.get("password"),
        )

    def __str__(self) -> str:  # never the password
        return f"redis://{self.host}:{self.port}/{self.db}"


class _Protocol(asyncio.Protocol):
    def __init__(self, on_lost: Callable[[_Protocol, Exception | None], None]) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._queued: list[bytes] = []
        self._flush_scheduled = False
        self._on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.fail(SharedStoreError(f"connection lost: {exc or 'closed by the server'}"))
        self._on_lost(self, exc)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiting = self._waiting
        while True:
            reply = reader.gets()
            if reply is False:
                return
            if not waiting:  # a reply nobody asked for: the stream cannot be trusted
                self.close()
                return
            future = waiting.popleft()[1]
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(SharedStoreError(f"redis refused: {reply}"))
            else:
                future.set_result(reply)

    def send(self, args: Sequence[Arg]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waiting.append((time.monotonic(), future))
        packed: Any = tuple(args)  # the stub types only one-element tuples
        self._queued.append(hiredis.pack_command(packed))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self.transport is not None and self._queued:
            self.transport.write(b"".join(self._queued))
        self._queued.clear()

    def oldest(self) -> float | None:
        """When the longest-waiting command was sent; None when none waits."""
        return self._waiting[0][0] if self._waiting else None

    def fail(self, exc: Exception) -> None:
        waiting, self._waiting = self._waiting, deque()
        self._queued.clear()
        for _, future in waiting:
            if not future.done():
                future.set_exception(exc)
                # Fire-and-forget commands have nobody to see this; that is fine.
                future.exception()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class RedisConnection:
    """One pipelined connection to Redis, reconnecting by itself."""

    def __init__(
        self,
        address: RedisAddress,
        *,
        timeout: float = 0.5,
        reconnect_min: float = 0.1,
        reconnect_max: float = 5.0,
        on_connect: Callable[[RedisConnection], Awaitable[None]] | None = None,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self.on_connect = on_connect
        self.on_state = on_state
        self._protocol: _Protocol | None = None
        self._ready = False
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._wake = asyncio.Event()

    @property
    def up(self) -> bool:
        return self._ready

    def call(self, *args: Arg) -> asyncio.Future[Any]:
        """Send one command; the future has its reply or a SharedStoreError."""
        protocol = self._protocol
        if protocol is None or not self._ready:
            raise SharedStoreError(f"{self.address} unreachable")
        return protocol.send(args)

    def fire(self, *args: Arg) -> None:
        """Send one command whose reply nobody waits for (errors only logged at DEBUG)."""
        with contextlib.suppress(SharedStoreError):
            self.call(*args).add_done_callback(_quiet)

    async def start(self, wait: float = 0.0) -> None:
        """Start connecting in the background; wait up to `wait` seconds for it."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="redis")
        deadline = time.monotonic() + wait
        while not self._ready and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        delay = self._reconnect_min
        failing = False
        loop = asyncio.get_running_loop()
        while not self._closing:
            try:
                await self._connect(loop)
            except (OSError, SharedStoreError, TimeoutError) as exc:
                # Once per outage at WARNING (a wrong password or address shows
                # at start-up too), then quietly until it works.
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "redis %s: cannot connect: %s; retrying", self.address, exc)
                failing = True
                await self._pause(delay)
                delay = min(delay * 2, self._reconnect_max)
                continue
            delay = self._reconnect_min
            failing = False
            self._set_ready(True)
            await self._watch()
            self._set_ready(False)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wake.clear()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Protocol(self._lost), self.address.host, self.address.port
            ),
            self.timeout,
        )
        self._protocol = protocol
        try:
            if self.address.password is not None:
                auth: tuple[str, ...] = (self.address.password,)
                if self.address.username:
                    auth = (self.address.username, self.address.password)
                await asyncio.wait_for(protocol.send(("AUTH", *auth)), self.timeout)
            if self.address.db:
                await asyncio.wait_for(protocol.send(("SELECT", self.address.db)), self.timeout)
            if self.on_connect is not None:
                self._ready = True  # the hook sends its own set-up commands
                await asyncio.wait_for(self.on_connect(self), self.timeout)
        except BaseException:
            self._ready = False
            protocol.fail(SharedStoreError(f"{self.address}: connection set-up failed"))
            protocol.close()
            self._protocol = None
            raise

    async def _watch(self) -> None:
        """Until the connection is lost: close it when a reply is overdue."""
        protocol = self._protocol
        step = min(0.05, self.timeout / 4)
        while protocol is not None and protocol.transport is not None and not self._wake.is_set():
            sent = protocol.oldest()
            if sent is not None and time.monotonic() - sent > self.timeout:
                log.warning(
                    "redis %s: no reply within %.2f s; reconnecting", self.address, self.timeout
                )
                protocol.fail(SharedStoreError(f"{self.address}: no reply within {self.timeout} s"))
                protocol.close()
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), step)
        self._protocol = None

    def _lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is self._protocol:
            self._ready = False
            self._wake.set()

    def _set_ready(self, ready: bool) -> None:
        self._ready = ready
        if self.on_state is not None:
            self.on_state(ready)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def close(self) -> None:
        self._closing = True
        self._ready = False
        self._wake.set()
        if self._protocol is not None:
            self._protocol.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("redis command failed: %s", future.exception())
