"""Lookup records for billing: collected on the request path, written in batches.

`Recorder.add` only appends to a list. A flusher hands full or timed-out batches
to one writer thread with its own database connection, so the event loop never
waits on the disk. A batch that fails to write is kept and tried again; `close`
writes everything that is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from numlookup.store.base import LookupRecord, Store

log = logging.getLogger(__name__)

# The writer thread's niceness above the event loop's: when both share a core,
# the scheduler then hands the loop the core back sooner (shorter slices for the
# writer), while the writer still gets about a quarter of it under full load.
WRITER_NICENESS = 5


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # per-thread niceness is Linux's
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)


class Recorder:
    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        flush_interval: float = 0.5,
        batch_size: int = 5000,
        spill_path: Path | None = None,
    ) -> None:
        self._open_store = open_store
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._spill_path = spill_path
        self._pending: list[LookupRecord] = []
        self._failed: list[LookupRecord] = []
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="numlookup-records", initializer=_lower_priority
        )
        self._local = threading.local()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.written = 0

    def add(self, record: LookupRecord) -> None:
        pending = self._pending
        pending.append(record)
        if len(pending) >= self._batch_size:
            self._wake.set()

    def __len__(self) -> int:
        return len(self._pending) + len(self._failed)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="records")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what has been collected so far (on the writer thread)."""
        batch = self._failed + self._pending
        self._failed, self._pending = [], []
        if not batch:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._write, batch)
        except Exception as exc:
            log.error("writing %d lookup records failed, will retry: %s", len(batch), exc)
            self._failed = batch + self._failed
        else:
            self.written += len(batch)

    def _write(self, batch: list[LookupRecord]) -> None:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self._open_store()
        store.insert_records(batch)

    async def close(self, attempts: int = 3) -> None:
        """Stop the flusher and write everything left (retrying a few times)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _ in range(attempts):
            await self.flush()
            if not self._failed:
                break
            await asyncio.sleep(0.2)
        if self._failed:
            self._spill(self._failed)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_store)
        self._executor.shutdown(wait=True)

    def _spill(self, records: list[LookupRecord]) -> None:
        if self._spill_path is None:
            log.error("%d lookup records could not be written and are lost", len(records))
            return
        try:
            with open(self._spill_path, "a", encoding="utf-8") as fh:
                for record in records:
                    fh.write(json.dumps(record._asdict()) + "\n")
        except OSError as exc:
            log.error("%d lookup records could not be written: %s", len(records), exc)
            return
        log.error(
            "the database refused %d lookup records; they are in %s", len(records), self._spill_path
        )
        self._failed = []

    def _close_store(self) -> None:
        store: Store | None = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None
