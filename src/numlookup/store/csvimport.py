"""Import number portability data from CSV files into a store.

Two files, two columns each, comma-separated, UTF-8:

    ported numbers   msisdn,mccmnc    46708100200,24004
    ranges           prefix,mccmnc    46708,24008

`msisdn` is a whole E.164 number, country code first, that has been ported to
the network `mccmnc`; `prefix` is the start of E.164 numbers (country code
first, 1-15 digits) that belong to `mccmnc` unless ported. `mccmnc` is an
ITU-T E.212 MCC followed by its 2- or 3-digit MNC (`24008`, `310260`), and must
be in numlookup's E.212 table. A leading `+` on msisdn or prefix is accepted and
dropped; blank lines are ignored. The first row is taken as a header, and
skipped, when its first cell is not digits (`msisdn,mccmnc`).

A bad row (wrong number of columns, an impossible number, an unknown MCC+MNC,
an msisdn or prefix given twice) is reported with its 1-based line number.
By default any bad row stops the import: DataImportError lists them all and
the store keeps what it had. With `skip_bad=True` the good rows are imported
and the bad ones returned.

A daily delta file (`action,msisdn,mccmnc` rows: port-in, port-out, return)
changes the ported numbers in place instead: see read_delta and apply_delta.

The file is read once, a block at a time, straight into the store's
replacement table; nothing is held per row. A block of clean rows (no header,
spaces, quotes or bad rows) is checked and split by one regular expression
(store/csvrows.py); any other block goes through the csv module row by row.
Only when the store refuses a repeated msisdn (or the file has bad rows) is it
read again to name the repeated lines: ranges remembering every prefix, ported
numbers through an on-disk scratch database, so that memory stays bounded
whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from numlookup.errors import DataImportError, StoreError
from numlookup.numbers import e212, msisdn
from numlookup.store.base import Store
from numlookup.store.csvrows import (
    Kind,
    key_problem,
    plmn_problem,
    possible_number_pattern,
    range_prefix_pattern,
    row_pattern,
)
from numlookup.store.sqlite import repeated_keys

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

Progress = Callable[[int, int], None]
"""Called now and then while a file is read, with (bytes read, file size)."""

BLOCK_BYTES = 1 << 20  # read and checked at a time; progress is reported after each
MAX_LINE_BYTES = 4 * BLOCK_BYTES  # longer without a line feed: the rest goes to the csv module
PROGRESS_EVERY = 1 << 16  # rows between progress calls where the csv module reads the file


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int  # rows now in the store
    bad: tuple[tuple[int, str], ...]  # (line number, reason) of each row left out


def import_ported(
    store: Store, path: Path, *, skip_bad: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Replace the store's ported numbers with the `msisdn,mccmnc` rows of `path`."""
    return _import(store, path, _PORTED, skip_bad, progress)


def import_ranges(
    store: Store, path: Path, *, skip_bad: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Replace the store's ranges with the `prefix,mccmnc` rows of `path`."""
    return _import(store, path, _RANGES, skip_bad, progress)


def check_file(path: Path, kind: str, progress: Progress | None = None) -> list[tuple[int, str]]:
    """The bad rows of a `ported` or `ranges` file, without importing anything."""
    scan = _Scan(path, _KINDS[kind], dedupe=True, strict=False, progress=progress)
    for _ in scan.rows():
        pass
    return scan.bad


# ------------------------------------------------------------------ checks


def is_range_prefix(prefix: str) -> bool:
    """1-15 ASCII digits that start with an assigned E.164 country code."""
    return (
        0 < len(prefix) <= msisdn.MAX_DIGITS
        and prefix.isdigit()
        and prefix.isascii()
        and msisdn.country_code(prefix) is not None
    )


# The fast path's clean line of each kind of file: see numlookup.store.csvrows.
_PORTED = Kind(
    "ported", "msisdn", msisdn.is_possible, row_pattern(possible_number_pattern()), False
)
_RANGES = Kind("ranges", "prefix", is_range_prefix, row_pattern(range_prefix_pattern()), True)
_KINDS = {kind.name: kind for kind in (_PORTED, _RANGES)}


# -------------------------------------------------------------------- scan

Batch = tuple[Sequence[int], list[tuple[str, str]]]
"""The line numbers (increasing) of some good rows, and the rows."""


class _Scan:
    """One pass over a file: yields the good rows, collects the bad ones.

    The file is read a block at a time (BLOCK_BYTES, cut after a line end). A
    block whose every line is clean (see store/csvrows.py) and whose MCC+MNCs
    are all known is taken whole: one findall gives its rows, in C. Any other
    block (a header, blank lines, spaces, bad rows) goes through the csv module
    row by row. A block of that kind with a double quote in it hands the rest of
    the file to the csv module, since a quoted field may run over a line end and
    so over the block's end.
    """

    def __init__(
        self,
        path: Path,
        kind: Kind,
        *,
        dedupe: bool,
        strict: bool,
        progress: Progress | None,
    ) -> None:
        self.path = path
        self.kind = kind
        # Report a key given twice. Ranges: every key kept in memory (files of
        # thousands of rows). Ported numbers: an extra pass first finds the
        # repeated lines with bounded memory (see _repeated_lines).
        self.dedupe = dedupe
        self.strict = strict  # raise DataImportError at the end if any row was bad
        self.progress = progress
        self.bad: list[tuple[int, str]] = []
        self.repeats = 0  # rows whose key an earlier row has
        self.opened = False  # the file has been opened (the scan has started)
        self._give_up = strict and not dedupe
        self._started = False  # a row that is not blank was seen: no header after it
        self._plmns: set[str] = set()  # MCC+MNCs found in the E.212 table so far

    def rows(self) -> Iterator[tuple[str, str]]:
        """The good rows; OSError if the file cannot be read.

        Strict: nothing more is yielded after the first bad row, and the end
        raises DataImportError; without dedupe, the scan stops at that row
        (the caller reads again with dedupe to list every bad row).
        """
        # Rows are handed out by chain, in C, a block's list at a time.
        return itertools.chain.from_iterable(self._good_batches())

    def _good_batches(self) -> Iterator[list[tuple[str, str]]]:
        seen: dict[str, int] | None = None
        repeated: dict[int, int] = {}
        if self.dedupe:
            if self.kind.dedupe_always:
                seen = {}
            else:
                repeated = _repeated_lines(self.path, self.kind, self.progress)
        marks = sorted(repeated)
        for lines, batch in self.batches():
            if seen is not None:
                batch = self._first_of_each(lines, batch, seen)
            elif marks and bisect_left(marks, lines[0]) != bisect_right(marks, lines[-1]):
                batch = self._drop_repeats(lines, batch, repeated)
            if not (self.strict and self.bad):
                yield batch
        # Repeats are found after the other problems of their batch.
        self.bad.sort(key=itemgetter(0))
        if self.strict and self.bad:
            raise DataImportError(self.bad)

    def _first_of_each(
        self, lines: Sequence[int], batch: list[tuple[str, str]], seen: dict[str, int]
    ) -> list[tuple[str, str]]:
        kept = []
        for line, row in zip(lines, batch, strict=True):
            first = seen.setdefault(row[0], line)
            if first == line:
                kept.append(row)
            else:
                self._repeat(line, row[0], first)
        return kept

    def _drop_repeats(
        self, lines: Sequence[int], batch: list[tuple[str, str]], repeated: dict[int, int]
    ) -> list[tuple[str, str]]:
        kept = []
        for line, row in zip(lines, batch, strict=True):
            first = repeated.get(line)
            if first is None:
                kept.append(row)
            else:
                self._repeat(line, row[0], first)
        return kept

    def _repeat(self, line: int, key: str, first: int) -> None:
        self.repeats += 1
        self.bad.append((line, f"{self.kind.key} {key} repeats line {first}"))

    def batches(self) -> Iterator[Batch]:
        """The good rows of the file, a block at a time, with their line numbers.

        Repeated keys are not looked for here (see rows()).
        """
        with open(self.path, "rb") as raw:
            self.opened = True
            yield from self._batches(raw)
        if self.progress is not None:
            self.progress(self._size, self._size)

    def _batches(self, raw: BinaryIO) -> Iterator[Batch]:
        self._size = total = os.fstat(raw.fileno()).st_size
        progress = self.progress
        clean_row = self.kind.clean_row
        line = 0  # lines before `start`
        start = 0  # file offset of `data`
        data = b""
        at_end = False
        while True:
            if not at_end:
                more = raw.read(BLOCK_BYTES)
                if start == 0 and not data and more.startswith(codecs.BOM_UTF8):
                    more = more[len(codecs.BOM_UTF8) :]  # some spreadsheets write one
                    start = len(codecs.BOM_UTF8)
                at_end = not more
                data = data + more if data else more
            if at_end and not data:
                return
            cut = len(data) if at_end else data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet
                if len(data) > MAX_LINE_BYTES:  # a very long line, or CR line ends only
                    yield from self._rest(raw, start, line)
                    return
                continue
            block, data = data[:cut], data[cut:]
            # errors=replace: undecodable bytes make a bad row, not a crash.
            text = block.decode("utf-8", "replace")
            rows: list[tuple[str, str]] = clean_row.findall(text)
            count = text.count("\n") + (text[-1] != "\n")
            if len(rows) == count and self._all_known(rows):
                self._started = True
                lines: Sequence[int] = range(line + 1, line + 1 + count)
            elif '"' in text:
                yield from self._rest(raw, start, line)
                return
            else:
                reader = csv.reader(io.StringIO(text, newline=""))
                lines, rows, _ = self._careful(reader, line)
                count = reader.line_num
            if rows:
                yield lines, rows
            if self._give_up and self.bad:
                return
            line += count
            start += cut
            if progress is not None and start < total:
                progress(start, total)

    def _rest(self, raw: BinaryIO, start: int, line: int) -> Iterator[Batch]:
        """The file from byte `start` (line `line` + 1) to its end, through the csv module."""
        raw.seek(start)
        # utf-8-sig: a byte-order mark some spreadsheets write is dropped.
        encoding = "utf-8-sig" if start == 0 else "utf-8"
        fh = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        try:
            reader = csv.reader(fh)
            while True:
                lines, rows, read = self._careful(reader, line, PROGRESS_EVERY)
                if rows:
                    yield lines, rows
                if (self._give_up and self.bad) or read < PROGRESS_EVERY:
                    return
                if self.progress is not None:
                    self.progress(raw.tell(), self._size)
        finally:
            fh.detach()  # `raw` is closed by its owner

    def _careful(
        self, reader: CsvReader, base: int, limit: int | None = None
    ) -> tuple[list[int], list[tuple[str, str]], int]:
        """Up to `limit` rows of a csv reader one at a time: (lines, good rows, rows read)."""
        is_valid = self.kind.is_valid
        known = self._plmns
        lines: list[int] = []
        good: list[tuple[str, str]] = []
        read = 0
        for row in reader if limit is None else itertools.islice(reader, limit):
            read += 1
            if len(row) == 2:
                key, plmn = row
                if key[:1] == "+":
                    key = key[1:]
                ok = is_valid(key) and (plmn in known or _known(plmn, known))
            else:
                ok = False
            if not ok:
                # Everything else: blank lines, a header, spaces around cells, bad rows.
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if not self._started and not row[0].strip().lstrip("+").isdigit():
                    self._started = True
                    continue  # the header
                self._started = True
                problem = self._problem(row)
                if problem is not None:
                    self.bad.append((base + reader.line_num, problem))
                    if self._give_up:
                        break
                    continue
                key, plmn = (cell.strip() for cell in row)
                key = key.removeprefix("+")
            self._started = True
            lines.append(base + reader.line_num)
            good.append((key, plmn))
        return lines, good, read

    def _all_known(self, rows: list[tuple[str, str]]) -> bool:
        """Every MCC+MNC of `rows` is in the E.212 table."""
        known = self._plmns
        plmns = set(map(itemgetter(1), rows))
        return plmns <= known or all(_known(plmn, known) for plmn in plmns - known)

    def _problem(self, row: list[str]) -> str | None:
        """What is wrong with a row, or None when it is good once its cells are stripped."""
        cells = [cell.strip() for cell in row]
        if len(cells) != 2:
            return f"expected 2 columns ({self.kind.key},mccmnc), got {len(cells)}"
        key, plmn = cells
        key = key.removeprefix("+")
        if not self.kind.is_valid(key):
            return key_problem(self.kind, key)
        if not e212.is_known_plmn(plmn):
            return plmn_problem(plmn)
        return None


def _known(plmn: str, known: set[str]) -> bool:
    if e212.is_known_plmn(plmn):
        known.add(plmn)
        return True
    return False


def _repeated_lines(path: Path, kind: Kind, progress: Progress | None) -> dict[int, int]:
    """{line: the earlier line with the same key} of the good rows of a file.

    The keys go through an on-disk scratch database (sqlite.repeated_keys), so
    that a file of 100 million numbers is checked in bounded memory.
    """
    scan = _Scan(path, kind, dedupe=False, strict=False, progress=progress)
    pairs = itertools.chain.from_iterable(
        zip(map(itemgetter(0), batch), lines, strict=True) for lines, batch in scan.batches()
    )
    return repeated_keys(pairs)


def _import(
    store: Store, path: Path, kind: Kind, skip_bad: bool, progress: Progress | None
) -> ImportResult:
    replace = store.replace_ported if kind is _PORTED else store.replace_ranges
    scan = _Scan(path, kind, dedupe=kind.dedupe_always, strict=not skip_bad, progress=progress)
    try:
        count = replace(scan.rows())
    except (StoreError, DataImportError):
        if scan.dedupe or not scan.opened:
            raise  # nothing more to find in the file (another import running, ...)
        # The store refused a repeated msisdn, or there were bad rows and the
        # list should name repeats too: read again, looking for repeats.
        careful = _Scan(path, kind, dedupe=True, strict=False, progress=progress)
        if skip_bad:
            count = replace(careful.rows())
            return ImportResult(count, tuple(careful.bad))
        for _ in careful.rows():
            pass
        if careful.bad:
            raise DataImportError(careful.bad) from None
        raise
    return ImportResult(count, tuple(scan.bad))


# ------------------------------------------------------------------- delta

DELTA_ACTIONS = ("port-in", "port-out", "return")


@dataclass(frozen=True, slots=True)
class DeltaResult:
    upserted: int  # port-ins and port-outs now in the store
    removed: int  # returns that removed a ported number (a return of one not ported: 0)
    bad: tuple[tuple[int, str], ...]  # (line number, reason) of each row left out


def read_delta(path: Path) -> tuple[list[tuple[str, str | None]], list[tuple[int, str]]]:
    """The changes of a delta file, (msisdn, MCC+MNC or None for a return), and its bad rows.

    A delta file is `action,msisdn,mccmnc` rows, encoded as the import files:
    `port-in` and `port-out` make `msisdn` served by `mccmnc` (inserted or
    updated), `return` gives it back to its range holder (its ported row is
    deleted; `mccmnc` may be empty or left out and is ignored). A header row is
    allowed; a msisdn given twice in one file is a bad row. Delta files are
    daily changes, small enough to be held in memory whole.
    """
    changes: list[tuple[str, str | None]] = []
    bad: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    with open(path, "rb") as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(fh)
        first = True
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not cells or cells == [""]:
                continue
            line = reader.line_num
            if first and cells[0].lower() == "action":
                first = False
                continue  # the header
            first = False
            change, problem = _delta_row(cells)
            if problem is None and change is not None:
                earlier = seen.setdefault(change[0], line)
                if earlier != line:
                    problem = f"msisdn {change[0]} repeats line {earlier}"
            if problem is not None:
                bad.append((line, problem))
            elif change is not None:
                changes.append(change)
    return changes, bad


def _delta_row(cells: list[str]) -> tuple[tuple[str, str | None] | None, str | None]:
    """A delta row's change, or what is wrong with it."""
    action = cells[0].lower()
    if action not in DELTA_ACTIONS:
        return None, f"unknown action {cells[0][:24]!r} (port-in, port-out or return)"
    if len(cells) != 3 and not (action == "return" and len(cells) == 2):
        return None, f"expected 3 columns (action,msisdn,mccmnc), got {len(cells)}"
    number = cells[1].removeprefix("+")
    if not msisdn.is_possible(number):
        return None, key_problem(_PORTED, number)
    if action == "return":
        return (number, None), None
    plmn = cells[2]
    if not e212.is_known_plmn(plmn):
        return None, plmn_problem(plmn)
    return (number, plmn), None


def apply_delta(store: Store, path: Path, *, skip_bad: bool = False) -> DeltaResult:
    """Apply the port-ins, port-outs and returns of the delta file `path`, in one transaction.

    Any bad row raises DataImportError and changes nothing, unless `skip_bad`:
    then the good rows are applied and the bad ones returned.
    """
    changes, bad = read_delta(path)
    if bad and not skip_bad:
        raise DataImportError(bad)
    upserted, removed = store.apply_ported_delta(changes)
    return DeltaResult(upserted, removed, tuple(bad))
