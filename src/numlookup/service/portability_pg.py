"""The Number Portability Lookup resolver on PostgreSQL: no database call on the event loop.

`PortabilityResolver` asks its store on the caller's thread: microseconds with
SQLite, but a network round trip with PostgreSQL, and a stalled server would
freeze the event loop. `PostgresPortabilityResolver` gives the same answers
(a ported number first, else the longest range prefix, else
UNKNOWN_SUBSCRIBER: PortabilityResolver's own rule, which it reuses) with every
database call on a small pool of threads, each with a store of its own.

Rules kept here:
- `resolve` returns a future at once. A batch goes to a free thread as soon as
  the loop has run what is ready (so lookups of one loop turn go together);
  while every thread is busy, new lookups gather into the next batch (at most
  `max_batch` numbers each). A batch is one statement (`ported_lookup_many`).
- A batch has `timeout` seconds from its first lookup, the wait for a thread
  included. One that fails, or has no answer by then, answers SYSTEM_FAILURE
  for each of its numbers: transient, never cached. An answer that comes later
  is dropped; the thread is free again only when its call returns (the store's
  statement timeout and TCP keepalives bound that).
- The first failure logs "database unreachable" once; the next batch answered
  in time logs "database back". In between, one batch at most every
  `retry_interval` seconds goes to the database, and the others answer
  SYSTEM_FAILURE at once, so that an outage neither makes callers wait nor
  floods a recovering server with connection attempts.
- A thread whose call failed closes its store; its next batch opens a new one.
- Ranges are few and held in memory; `reload` reads them again (from any
  thread) with a store of its own.

`MemoryPortedStore` is the test peer of the store: ported numbers and ranges in
memory, which can be made to fail (`down`) or to hang (`stall`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, cast

from numlookup.errors import StoreError
from numlookup.results import Outcome, ResultCode
from numlookup.service.portability import PortabilityResolver
from numlookup.store.base import Store

log = logging.getLogger(__name__)

FAILURE = Outcome(ResultCode.SYSTEM_FAILURE)
THREADS = 2  # one batch in flight per thread; more gather meanwhile
TIMEOUT = 2.0  # seconds a batch has, from its first lookup, before SYSTEM_FAILURE
MAX_BATCH = 1000  # numbers per statement
RETRY_INTERVAL = 0.5  # seconds between attempts while the database is unreachable


class PortedStore(Protocol):
    """What the resolver needs of a store (PostgresStore has it)."""

    def ported_lookup_many(self, msisdns: Sequence[str]) -> dict[str, str]: ...
    def list_ranges(self) -> list[tuple[str, str]]: ...
    def close(self) -> None: ...


class _Batch:
    __slots__ = ("lookups", "msisdns", "sent", "settled", "timer")

    def __init__(self) -> None:
        self.lookups: list[tuple[str, asyncio.Future[Outcome]]] = []
        self.msisdns: list[str] = []  # each number once, set when sent
        self.timer: asyncio.TimerHandle | None = None
        self.sent = False
        self.settled = False  # every lookup answered


class _Answers:
    """The store PortabilityResolver reads: the batch being answered, and the ranges.

    `ported` is set on the event loop just before a batch is answered; the
    ranges come from a store of their own (opened on first use, under a lock,
    dropped after a failure), so `reload` may run on any thread.
    """

    def __init__(self, open_store: Callable[[], PortedStore]) -> None:
        self.ported: dict[str, str] = {}
        self._open_store = open_store
        self._store: PortedStore | None = None
        self._lock = threading.Lock()

    def ported_lookup(self, msisdn: str) -> str | None:
        return self.ported.get(msisdn)

    def list_ranges(self) -> list[tuple[str, str]]:
        with self._lock:
            store = self._store
            if store is None:
                store = self._store = self._open_store()
            try:
                return store.list_ranges()
            except BaseException:
                self._store = None
                _close_quietly(store)
                raise

    def close(self) -> None:
        # Never wait here: a reload stuck on a stalled server keeps its store.
        if self._lock.acquire(blocking=False):
            try:
                if self._store is not None:
                    _close_quietly(self._store)
                    self._store = None
            finally:
                self._lock.release()


def _close_quietly(store: PortedStore) -> None:
    with contextlib.suppress(Exception):
        store.close()


class PostgresPortabilityResolver:
    service = "portability"
    source = "database"
    # A database answer is quick (or SYSTEM_FAILURE within `timeout`): it does
    # not count against the account's limit of ongoing requests.
    counts_as_ongoing = False

    def __init__(
        self,
        open_store: Callable[[], PortedStore],
        *,
        threads: int = THREADS,
        timeout: float = TIMEOUT,
        max_batch: int = MAX_BATCH,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        """Reads the ranges now (StoreError if the database cannot be reached)."""
        if threads < 1 or max_batch < 1 or timeout <= 0:
            raise ValueError("threads and max_batch must be at least 1, timeout above 0")
        self._open_store = open_store
        self._thread_count = threads
        self._timeout = timeout
        self._max_batch = max_batch
        self._retry_interval = retry_interval
        self._answers = _Answers(open_store)
        # PortabilityResolver reads only ported_lookup and list_ranges of its store.
        self._rules = PortabilityResolver(cast(Store, self._answers))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads without a batch, as the event loop counts them
        self._alive = 0  # threads not yet finished
        self._all_exited: asyncio.Future[None] | None = None
        self._waiting: deque[_Batch] = deque()  # not sent yet, oldest first
        self._gathering: _Batch | None = None  # the newest waiting batch, still open
        self._inflight: set[_Batch] = set()
        self._dispatch_soon = False
        self._retry_at = 0.0
        self._closed = False
        self.database_up = True
        self.failed = 0  # lookups answered SYSTEM_FAILURE since the last "database back"

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the threads (call it on the running event loop that will resolve)."""
        self._loop = asyncio.get_running_loop()
        self._all_exited = self._loop.create_future()
        for n in range(self._thread_count):
            thread = threading.Thread(
                target=self._work, name=f"numlookup-portability-{n}", daemon=True
            )
            self._threads.append(thread)
        self._idle = self._alive = len(self._threads)
        for thread in self._threads:
            thread.start()

    def reload(self) -> None:
        """Read the ranges again (after an import replaced them); from any thread."""
        self._rules.reload()

    async def close(self) -> None:
        """Answer what waits, let the threads finish their batches (up to `timeout`), stop."""
        if self._closed:
            return
        self._closed = True
        while self._waiting:
            self._settle(self._waiting.popleft(), FAILURE)
        self._gathering = None
        for _ in self._threads:
            self._jobs.put(None)
        if self._all_exited is not None and self._alive:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._all_exited), self._timeout)
        for batch in list(self._inflight):
            self._settle(batch, FAILURE)
        if self._alive:
            # Daemon threads: one stuck on a stalled server does not hold up the exit.
            log.warning("%d database threads still busy at close; left behind", self._alive)
        self._answers.close()

    # ---------------------------------------------------------------- Resolver

    def resolve(self, msisdn: str) -> asyncio.Future[Outcome]:
        loop = self._loop
        if loop is None:
            raise RuntimeError("PostgresPortabilityResolver.start() was not called")
        future: asyncio.Future[Outcome] = loop.create_future()
        if self._closed:
            future.set_result(FAILURE)
            return future
        batch = self._gathering
        if batch is None or len(batch.lookups) >= self._max_batch:
            batch = self._gathering = _Batch()
            batch.timer = loop.call_later(self._timeout, self._expire, batch)
            self._waiting.append(batch)
            if not self._dispatch_soon and (self._idle or not self.database_up):
                self._dispatch_soon = True
                loop.call_soon(self._dispatch)
        batch.lookups.append((msisdn, future))
        return future

    # ---------------------------------------------------------------- event loop side

    def _dispatch(self) -> None:
        """Send waiting batches to free threads; during an outage, see module rules."""
        self._dispatch_soon = False
        assert self._loop is not None
        waiting = self._waiting
        while waiting:
            batch = waiting[0]
            if not batch.settled:
                if not self.database_up:
                    if self._loop.time() < self._retry_at:
                        self._fail(batch, "")  # no attempt now: answered at once
                    elif self._inflight:
                        break  # the attempt on its way decides
                if not batch.settled and not self._idle:
                    break
            waiting.popleft()
            if batch is self._gathering:
                self._gathering = None
            if not batch.settled:
                self._send(batch)

    def _send(self, batch: _Batch) -> None:
        batch.msisdns = list(dict.fromkeys([msisdn for msisdn, _ in batch.lookups]))
        batch.sent = True
        self._inflight.add(batch)
        self._idle -= 1
        self._jobs.put(batch)

    def _answered(self, batch: _Batch, ported: dict[str, str]) -> None:
        self._idle += 1
        if not batch.settled:
            self._answers.ported = ported
            try:
                self._settle(batch, None)
            finally:
                self._answers.ported = {}
            if not self.database_up:
                self.database_up = True
                log.warning(
                    "database back: portability lookups answered again"
                    " (%d answered SYSTEM_FAILURE meanwhile)",
                    self.failed,
                )
                self.failed = 0
        self._dispatch()

    def _failed(self, batch: _Batch, error: BaseException) -> None:
        self._idle += 1
        if not batch.settled:
            self._fail(batch, str(error) or type(error).__name__)
        self._dispatch()

    def _expire(self, batch: _Batch) -> None:
        if batch.settled:
            return
        if batch is self._gathering:
            self._gathering = None
        if not batch.sent:
            with contextlib.suppress(ValueError):
                self._waiting.remove(batch)  # the oldest waiting: at the front
        self._fail(batch, f"no answer within {self._timeout:g} s")

    def _fail(self, batch: _Batch, why: str) -> None:
        self._settle(batch, FAILURE)
        self.failed += len(batch.lookups)
        assert self._loop is not None
        if why:  # a real attempt failed: the next one after the retry interval
            self._retry_at = self._loop.time() + self._retry_interval
        if self.database_up:
            self.database_up = False
            log.error(
                "database unreachable (%s): portability lookups answer SYSTEM_FAILURE"
                " until it is back",
                why,
            )

    def _settle(self, batch: _Batch, outcome: Outcome | None) -> None:
        """Answer every lookup of `batch`: `outcome`, or (None) from the batch's answer."""
        batch.settled = True
        if batch.timer is not None:
            batch.timer.cancel()
        self._inflight.discard(batch)
        resolve = self._rules.resolve
        for msisdn, future in batch.lookups:
            if not future.done():
                future.set_result(resolve(msisdn) if outcome is None else outcome)

    def _exited(self) -> None:
        self._alive -= 1
        if self._alive == 0 and self._all_exited is not None and not self._all_exited.done():
            self._all_exited.set_result(None)

    # ---------------------------------------------------------------- threads

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(callback, *args)

    def _work(self) -> None:
        """One thread: its own store, one batch at a time, until told to stop."""
        store: PortedStore | None = None
        try:
            with contextlib.suppress(Exception):  # connect ahead; a failure shows on use
                store = self._open_store()
            while (batch := self._jobs.get()) is not None:
                try:
                    if store is None:
                        store = self._open_store()
                    ported = store.ported_lookup_many(batch.msisdns)
                except Exception as exc:
                    if store is not None:
                        _close_quietly(store)
                        store = None
                    self._post(self._failed, batch, exc)
                else:
                    self._post(self._answered, batch, ported)
        finally:
            if store is not None:
                _close_quietly(store)
            self._post(self._exited)


class MemoryPortedStore:
    """A PortedStore in memory, the resolver's test peer.

    `down` makes every call raise StoreError; `stall()` makes look-ups wait
    until `release()` (`stalled` is released once by each that waits);
    `attempts` counts look-ups tried and `batches` lists the numbers of each
    that answered. `ported_lookup` makes it a store for PortabilityResolver too.
    """

    def __init__(
        self,
        ported: Iterable[tuple[str, str]] = (),
        ranges: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.ported = dict(ported)
        self.ranges = list(ranges)
        self.down = False
        self.attempts = 0
        self.batches: list[list[str]] = []
        self.closed = False
        self.stalled = threading.Semaphore(0)
        self._moving = threading.Event()
        self._moving.set()

    def stall(self) -> None:
        self._moving.clear()

    def release(self) -> None:
        self._moving.set()

    def _check(self) -> None:
        if self.down:
            raise StoreError("connect to memory: connection refused")

    def ported_lookup_many(self, msisdns: Sequence[str]) -> dict[str, str]:
        self.attempts += 1
        if not self._moving.is_set():
            self.stalled.release()
            self._moving.wait()
        self._check()
        self.batches.append(list(msisdns))
        return {m: self.ported[m] for m in msisdns if m in self.ported}

    def ported_lookup(self, msisdn: str) -> str | None:
        self._check()
        return self.ported.get(msisdn)

    def list_ranges(self) -> list[tuple[str, str]]:
        self._check()
        return list(self.ranges)

    def close(self) -> None:
        self.closed = True
