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

The file is read once, straight into the store's replacement table; nothing is
held per row. Only when the store refuses a repeated msisdn (or the file has bad
rows) is it read again, remembering every msisdn, to name the repeated lines.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from numlookup.errors import DataImportError, StoreError
from numlookup.numbers import e212, msisdn
from numlookup.store.base import Store

Progress = Callable[[int, int], None]
"""Called now and then while a file is read, with (bytes read, file size)."""

PROGRESS_EVERY = 1 << 16  # rows between progress calls


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


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str  # "ported" or "ranges"
    key: str  # the first column's name
    is_valid: Callable[[str], bool]
    dedupe_always: bool  # small files: remember every key on the first pass


_PORTED = _Kind("ported", "msisdn", msisdn.is_possible, dedupe_always=False)
_RANGES = _Kind("ranges", "prefix", is_range_prefix, dedupe_always=True)
_KINDS = {kind.name: kind for kind in (_PORTED, _RANGES)}


def _key_problem(kind: _Kind, key: str) -> str:
    shown = repr(key[:24])
    if not key:
        return f"{kind.key} is empty"
    if not (key.isdigit() and key.isascii()):
        return f"{kind.key} {shown} is not digits"
    if len(key) > msisdn.MAX_DIGITS:
        return f"{kind.key} {shown} has more than {msisdn.MAX_DIGITS} digits"
    if msisdn.country_code(key) is None:
        return f"{kind.key} {shown} does not start with an assigned country code"
    return f"{kind.key} {shown} is not a possible E.164 number (length)"


def _plmn_problem(plmn: str) -> str:
    shown = repr(plmn[:24])
    if not (plmn.isdigit() and plmn.isascii() and len(plmn) in (5, 6)):
        return f"mccmnc {shown} is not 5 or 6 digits (MCC and 2- or 3-digit MNC)"
    return f"mccmnc {shown} is not a known E.212 MCC+MNC"


# -------------------------------------------------------------------- scan


class _Scan:
    """One pass over a file: yields the good rows, collects the bad ones."""

    def __init__(
        self,
        path: Path,
        kind: _Kind,
        *,
        dedupe: bool,
        strict: bool,
        progress: Progress | None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.dedupe = dedupe  # remember every key to report repeats (memory: ~100 B/row)
        self.strict = strict  # raise DataImportError at the end if any row was bad
        self.progress = progress
        self.bad: list[tuple[int, str]] = []
        self.repeats = 0  # rows whose key an earlier row has

    def rows(self) -> Iterator[tuple[str, str]]:
        """The good rows; OSError if the file cannot be read.

        Strict: nothing more is yielded after the first bad row, and the end
        raises DataImportError; without dedupe, the scan stops at that row
        (the caller reads again with dedupe to list every bad row).
        """
        # utf-8-sig: a byte-order mark some spreadsheets write is dropped.
        # errors=replace: undecodable bytes make a bad row, not a crash.
        with open(self.path, "rb") as raw:
            fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            yield from self._rows(fh, raw)
        if self.strict and self.bad:
            raise DataImportError(self.bad)

    def _rows(self, fh: io.TextIOWrapper, raw: BinaryIO) -> Iterator[tuple[str, str]]:
        total = os.fstat(raw.fileno()).st_size
        progress = self.progress
        is_valid = self.kind.is_valid
        strict, bad = self.strict, self.bad
        give_up = strict and not self.dedupe
        known_plmns: set[str] = set()
        seen: dict[str, int] | None = {} if self.dedupe else None
        reader = csv.reader(fh)
        blank = 0
        for count, row in enumerate(reader, 1):
            if progress is not None and not count % PROGRESS_EVERY:
                progress(raw.tell(), total)
            if len(row) == 2:
                # The fast path: two clean cells.
                key, plmn = row
                if key[:1] == "+":
                    key = key[1:]
                good = is_valid(key) and (plmn in known_plmns or _known(plmn, known_plmns))
            else:
                good = False
            if not good:
                # Everything else: blank lines, a header, spaces around cells, bad rows.
                if not row or (len(row) == 1 and not row[0].strip()):
                    blank += 1
                    continue
                if count == blank + 1 and not row[0].strip().lstrip("+").isdigit():
                    continue  # the header
                problem = self._problem(row)
                if problem is not None:
                    bad.append((reader.line_num, problem))
                    if give_up:
                        return
                    continue
                key, plmn = (cell.strip() for cell in row)
                key = key.removeprefix("+")
            if seen is not None:
                line = reader.line_num
                first = seen.setdefault(key, line)
                if first != line:
                    self.repeats += 1
                    bad.append((line, f"{self.kind.key} {key} repeats line {first}"))
                    continue
            if not (strict and bad):
                yield key, plmn
        if progress is not None:
            progress(total, total)

    def _problem(self, row: list[str]) -> str | None:
        """What is wrong with a row, or None when it is good once its cells are stripped."""
        cells = [cell.strip() for cell in row]
        if len(cells) != 2:
            return f"expected 2 columns ({self.kind.key},mccmnc), got {len(cells)}"
        key, plmn = cells
        key = key.removeprefix("+")
        if not self.kind.is_valid(key):
            return _key_problem(self.kind, key)
        if not e212.is_known_plmn(plmn):
            return _plmn_problem(plmn)
        return None


def _known(plmn: str, known: set[str]) -> bool:
    if e212.is_known_plmn(plmn):
        known.add(plmn)
        return True
    return False


def _import(
    store: Store, path: Path, kind: _Kind, skip_bad: bool, progress: Progress | None
) -> ImportResult:
    replace = store.replace_ported if kind is _PORTED else store.replace_ranges
    scan = _Scan(path, kind, dedupe=kind.dedupe_always, strict=not skip_bad, progress=progress)
    try:
        count = replace(scan.rows())
    except (StoreError, DataImportError):
        if scan.dedupe:
            raise
        # The store refused a repeated msisdn, or there were bad rows and the
        # list should name repeats too: read again, remembering every msisdn.
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
        return None, _key_problem(_PORTED, number)
    if action == "return":
        return (number, None), None
    plmn = cells[2]
    if not e212.is_known_plmn(plmn):
        return None, _plmn_problem(plmn)
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
