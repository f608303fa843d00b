"""Lookup records for billing: collected on the request path, written in batches.

`Recorder.add` only appends to a list. A flusher hands full or timed-out batches
to one writer thread with its own database connection, so the event loop never
waits on the database or the disk.

When the database cannot take them, no record is lost:
- A batch that fails to write is kept (held) and tried again with the next
  flush, in front of the newer records; the writer's store is dropped, so the
  next attempt connects again. A store that had worked before is tried once
  more at once on a new connection (a database restart is only noticed on use).
- "database unreachable: N lookup records held locally" is logged once when
  writing starts to fail, "database back: N records delivered" once when it
  works again.
- Beyond `max_held` records in memory, the oldest are appended to the spill
  file (JSON lines, one record each), so an outage of any length costs disk,
  not memory. `close` appends whatever is left there too.
- Spilled records are delivered first, at start and with every write, so that
  records reach the database in the order they were made: the spill file is
  renamed aside (`<spill>.delivering`), inserted in batches, and removed. New
  spills go to a fresh spill file meanwhile.

Records the database refuses for what they hold (RecordsRejected: a NUL in a
text, a number beyond its column) are no outage: writing them again would fail
for ever and hold every later record behind them. The store wrote none of the
batch, so it is written again in halves, down to the records refused; every
other record arrives, in its order. The refused ones are appended to
`rejected-records.jsonl` beside the spill file (the same JSON lines, to mend
and replay), or logged where there is no spill file, and never tried again.
"the database rejected N lookup records (reason)" is logged once per batch.
Lines of a spill file that hold no record (cut short by a crash, or mended by
hand into something else) go to the same file as they are, never dropped.

Delivery is exactly once except in two windows, where it is at least once: a
batch whose commit succeeded but whose acknowledgement was lost (the
connection broke at that moment) is written again with the next flush; and a
crash (kill -9, power) after a batch of the aside file was inserted and before
the file was trimmed or removed delivers that batch again at the next start.
A failed delivery trims the aside file to what is left, and a batch cut short
while its refused records are sought is held from where it stopped, so a mere
outage repeats nothing.

Thread ownership: the lists of records belong to the event loop; the store, the
spill files and the rejected file to the writer thread, which runs one job at a
time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from numlookup.errors import RecordsRejected
from numlookup.store.base import LookupRecord, Store

log = logging.getLogger(__name__)

# The writer thread's niceness above the event loop's: when both share a core,
# the scheduler then hands the loop the core back sooner (shorter slices for the
# writer), while the writer still gets about a quarter of it under full load.
WRITER_NICENESS = 5
# Records held in memory while the database is away, beyond which the oldest go
# to the spill file: at ~200 bytes each, about 20 MB.
MAX_HELD = 100_000
ASIDE_SUFFIX = ".delivering"
REJECTED_NAME = "rejected-records.jsonl"  # beside the spill file


@dataclass(slots=True)
class _Tally:
    """How far writing some records got: a prefix of them is inserted or set aside."""

    inserted: int = 0
    rejected: int = 0

    @property
    def settled(self) -> int:
        return self.inserted + self.rejected


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
        max_held: int = MAX_HELD,
    ) -> None:
        self._open_store = open_store
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._spill_path = spill_path
        self._aside_path = (
            None if spill_path is None else spill_path.with_name(spill_path.name + ASIDE_SUFFIX)
        )
        self._rejected_path = None if spill_path is None else spill_path.with_name(REJECTED_NAME)
        self._max_held = max_held
        self._pending: list[LookupRecord] = []
        self._failed: list[LookupRecord] = []
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="numlookup-records", initializer=_lower_priority
        )
        self._local = threading.local()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._closing = False
        self._warned_no_spill = False
        self._written = 0  # by the event loop's count
        self._writing = 0  # records of the batch on the writer thread now
        # Written by the writer thread only:
        self._counted = spill_path is None  # the spill files' records counted
        self._spilled = 0  # records in the spill files, not delivered yet
        self._delivered = 0  # records delivered from the spill files
        self._rejected = 0  # records the database refused, set aside
        self.database_up = True

    def add(self, record: LookupRecord) -> None:
        pending = self._pending
        pending.append(record)
        if len(pending) >= self._batch_size:
            self._wake.set()

    def __len__(self) -> int:
        """Records in memory, not written yet."""
        return len(self._pending) + len(self._failed)

    @property
    def held(self) -> int:
        """Records not in the database yet: in memory, and in the spill files."""
        return len(self) + self._writing + self._spilled

    @property
    def written(self) -> int:
        """Records this process has written to the database (spilled ones included)."""
        return self._written + self._delivered

    @property
    def rejected(self) -> int:
        """Records the database refused for what they hold, set aside and never retried."""
        return self._rejected

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="records")

    async def _run(self) -> None:
        first = True  # at once: what an earlier run spilled is delivered first
        while not self._closing:
            if not first:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._flush_interval)
                self._wake.clear()
                if self._closing:
                    break
            first = False
            try:
                await self.flush()
            except Exception:  # never let the writer die: records would pile up unseen
                log.exception("writing lookup records")

    async def flush(self) -> None:
        """Write the spilled records, then what has been collected (on the writer thread)."""
        async with self._flushing:
            batch = self._failed + self._pending
            self._failed, self._pending = [], []
            if not batch and not self._spilled and self._counted:
                return
            loop = asyncio.get_running_loop()
            delivered = self._delivered
            tally = _Tally()
            self._writing = len(batch)
            try:
                await loop.run_in_executor(self._executor, self._write, batch, tally)
            except Exception as exc:
                self._writing = 0
                self._written += tally.inserted
                self._failed = batch[tally.settled :]
                log.debug(
                    "writing %d lookup records failed, will retry: %s", len(self._failed), exc
                )
                if self.database_up:
                    self.database_up = False
                    log.error(
                        "database unreachable: %d lookup records held locally (%s)",
                        self.held,
                        exc,
                    )
                await self._bound_memory()
                return
            self._writing = 0
            self._written += tally.inserted
            if not self.database_up:
                self.database_up = True
                log.warning(
                    "database back: %d records delivered",
                    tally.inserted + self._delivered - delivered,
                )

    async def _bound_memory(self) -> None:
        """Move the oldest held records beyond `max_held` to the spill file."""
        excess = len(self._failed) - self._max_held
        if excess <= 0:
            return
        if self._spill_path is None:
            if not self._warned_no_spill:
                self._warned_no_spill = True
                log.warning("%d lookup records held in memory, and no spill file", len(self))
            return
        oldest = self._failed[:excess]
        del self._failed[:excess]
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._append_spill, oldest)
        except Exception as exc:
            self._failed[:0] = oldest
            if not self._warned_no_spill:
                self._warned_no_spill = True
                log.error("cannot spill lookup records to %s: %s", self._spill_path, exc)

    async def close(self, attempts: int = 3) -> None:
        """Stop the flusher and write everything left (retrying a few times); spill the rest."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task  # it ends after the flush in progress, if any
            self._task = None
        for n in range(attempts):
            await self.flush()
            if not self._failed and not self._pending:
                break
            if n + 1 < attempts:
                await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        left = self._failed + self._pending
        if left and self._spill_path is None:
            log.error("%d lookup records could not be written and are lost", len(left))
        elif left:
            self._failed, self._pending = [], []
            try:
                await loop.run_in_executor(self._executor, self._append_spill, left)
            except OSError as exc:
                log.error("%d lookup records could not be written: %s", len(left), exc)
            else:
                log.error(
                    "the database refused %d lookup records; they are in %s",
                    len(left),
                    self._spill_path,
                )
        await loop.run_in_executor(self._executor, self._drop_store)
        self._executor.shutdown(wait=True)

    # ---------------------------------------------------------------- writer thread

    def _write(self, batch: list[LookupRecord], tally: _Tally) -> None:
        """Deliver the spilled records, then `batch`; once more on a new store if it was old.

        `tally` counts the records of `batch` settled, even when it raises.
        """
        if not self._counted:
            self._counted = True
            self._count_spilled()
        for attempt in (1, 2):
            store: Store | None = getattr(self._local, "store", None)
            fresh = store is None
            if store is None:
                store = self._local.store = self._open_store()
            try:
                self._deliver_spilled(store)
                self._insert(store, batch[tally.settled :], tally)
                return
            except Exception:
                self._drop_store()
                if fresh or attempt == 2:
                    raise

    def _drop_store(self) -> None:
        store: Store | None = getattr(self._local, "store", None)
        self._local.store = None
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def _insert(self, store: Store, records: Sequence[LookupRecord], tally: _Tally) -> None:
        """Insert `records`, setting aside those the database refuses for what they hold.

        `tally` grows as records are settled, in order, so a failure of any
        other kind leaves the records after them to try again.
        """
        try:
            store.insert_records(records)
        except RecordsRejected as exc:
            refused: list[LookupRecord] = []
            try:
                self._sift(store, records, tally, refused)
            finally:  # those found so far, even if the database went away meanwhile
                if refused:
                    self._set_aside(refused, exc)
        else:
            tally.inserted += len(records)

    def _sift(
        self,
        store: Store,
        records: Sequence[LookupRecord],
        tally: _Tally,
        refused: list[LookupRecord],
    ) -> None:
        """Insert the records of a refused group that the database takes, half by half.

        A refused group writes nothing, so halving finds k refused records of n
        in about 2·k·log2(n) inserts, and the others arrive in their order.
        """
        if len(records) == 1:
            refused.append(records[0])
            tally.rejected += 1
            return
        half = len(records) // 2
        for part in (records[:half], records[half:]):
            try:
                store.insert_records(part)
            except RecordsRejected:
                self._sift(store, part, tally, refused)
            else:
                tally.inserted += len(part)

    def _set_aside(self, records: list[LookupRecord], exc: RecordsRejected) -> None:
        """Keep refused records in the rejected file; in the log if it cannot be written."""
        self._rejected += len(records)
        count = f"{len(records)} lookup record{'' if len(records) == 1 else 's'}"
        where = "no spill file configured"
        if self._rejected_path is not None:
            try:
                _append_lines(self._rejected_path, records)
            except OSError as error:
                where = f"cannot write {self._rejected_path}: {error}"
            else:
                log.error(
                    "the database rejected %s (%s); kept in %s", count, exc, self._rejected_path
                )
                return
        shown = ", ".join(json.dumps(record._asdict()) for record in records)
        log.error(
            "the database rejected %s (%s); %s, so here they are: %s", count, exc, where, shown
        )

    def _append_spill(self, records: list[LookupRecord]) -> None:
        """Append `records` to the spill file (OSError: none of them is counted as spilled)."""
        if self._spill_path is None:
            raise OSError("no spill file configured")
        _append_lines(self._spill_path, records)
        self._spilled += len(records)

    def _count_spilled(self) -> None:
        try:
            self._spilled = sum(
                _count_lines(path)
                for path in (self._aside_path, self._spill_path)
                if path is not None
            )
        except OSError as exc:
            log.error("cannot read the spill file %s: %s", self._spill_path, exc)

    def _deliver_spilled(self, store: Store) -> None:
        """Insert the spill files' records, oldest first, and remove the files."""
        spill, aside = self._spill_path, self._aside_path
        if spill is None or aside is None:
            return
        while True:
            if not aside.exists():
                if not spill.exists():
                    self._spilled = 0
                    return
                os.replace(spill, aside)
            self._deliver_file(store, aside)
            aside.unlink()

    def _deliver_file(self, store: Store, path: Path) -> None:
        """Insert the records of `path` in batches; on failure, trim it to what is left."""
        done = 0  # lines of the file settled: inserted, or set aside
        batch: list[LookupRecord] = []
        ends: list[int] = []  # the line of each record of `batch`
        tally = _Tally()  # of `batch`
        lines = 0
        unreadable: list[tuple[int, bytes]] = []  # (line number, line) not settled yet

        def settle(upto: int) -> None:
            nonlocal done, tally
            self._delivered += tally.inserted
            self._spilled -= upto - done
            done, tally = upto, _Tally()
            if unreadable and unreadable[0][0] <= upto:
                kept = [line for number, line in unreadable if number <= upto]
                del unreadable[: len(kept)]
                self._set_aside_unreadable(path, kept)

        try:
            with open(path, "rb") as fh:
                for line in fh:
                    lines += 1
                    record = _parse(line)
                    if record is None:
                        if line.strip():  # a blank line holds nothing to keep
                            unreadable.append((lines, line))
                    else:
                        batch.append(record)
                        ends.append(lines)
                    if len(batch) >= self._batch_size:
                        self._insert(store, batch, tally)
                        settle(lines)
                        batch, ends = [], []
                if batch:
                    self._insert(store, batch, tally)
                settle(lines)
        except BaseException:
            if tally.settled:  # the start of the batch, before the failure
                settle(ends[tally.settled - 1])
            if done:
                _drop_lines(path, done)
            raise

    def _set_aside_unreadable(self, path: Path, lines: list[bytes]) -> None:
        """Keep lines of a spill file that hold no record, as they are, in the rejected file.

        A line cut short by a crash, or one mended by hand into something that is
        not a record: the operator decides what it was.
        """
        count = f"{len(lines)} unreadable line{'' if len(lines) == 1 else 's'}"
        text = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        if self._rejected_path is not None:
            try:
                _append(self._rejected_path, text)
            except OSError as error:
                log.error("%s: %s; cannot write %s: %s", path, count, self._rejected_path, error)
            else:
                log.error("%s: %s set aside in %s", path, count, self._rejected_path)
                return
        log.error("%s: %s, so here they are: %r", path, count, text)


# The JSON types of a record's fields, in order (bool is an int to isinstance).
_FIELD_TYPES: tuple[tuple[type, ...], ...] = (
    (int, float),
    (str,),
    (str,),
    (str,),
    (str, type(None)),
    (str, type(None)),
    (str,),
    (int,),
)


def _parse(line: bytes) -> LookupRecord | None:
    """The record of a spill-file line; None for a line that holds none."""
    try:
        record = LookupRecord(**json.loads(line))
    except (ValueError, TypeError):
        return None
    for value, types in zip(record, _FIELD_TYPES, strict=True):
        if isinstance(value, bool) or not isinstance(value, types):
            return None
    return record


def _append_lines(path: Path, records: list[LookupRecord]) -> None:
    """Append `records` to `path`, one JSON object a line."""
    _append(path, "".join([json.dumps(record._asdict()) + "\n" for record in records]).encode())


def _append(path: Path, lines: bytes) -> None:
    """Append whole `lines` to `path`."""
    with open(path, "a+b") as fh:
        if fh.tell() > 0:  # a line cut short by a crash must not swallow the next one
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                lines = b"\n" + lines
        fh.write(lines)


def _count_lines(path: Path) -> int:
    """Lines in `path` (a last one without a newline included); 0 if it is absent."""
    try:
        with open(path, "rb") as fh:
            count = 0
            last = b"\n"
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
            return count + (last != b"\n")
    except FileNotFoundError:
        return 0


def _drop_lines(path: Path, count: int) -> None:
    """Remove the first `count` lines of `path` (written to a new file, renamed over it)."""
    partial = path.with_name(path.name + ".new")
    with open(path, "rb") as src, open(partial, "wb") as dst:
        for _ in range(count):
            src.readline()
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(partial, path)
