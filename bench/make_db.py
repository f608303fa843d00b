"""Build a numlookup database with many ported numbers, for the uncached benchmark.

    python bench/make_db.py --ported 10000000 --out bench/out/ported.sqlite3
    python bench/make_db.py --ported 100000000 --digits 9 --csv bench/out/ported.csv

The second form writes the same numbers as an import file (`msisdn,mccmnc`
with a header row, in number order) instead, for `numlookup np import ported`
(bench/scale.sh).

The numbers are Swedish-looking MSISDNs laid out so that a load generator can
pick existing ones without a list (bench/uncached.lua does):

    number(k) = "467" + the 8 digits of k*stride        k = 0 .. N-1
              = 46700000000 + k*stride

(with --digits 9, "467" + 9 digits: 12-digit numbers, room for 100 million),

and each is ported to one of a few real Swedish networks, chosen by a hash of k,
so a probe can check the answer for any k. Numbers 46700000000 + k*stride + 1
(stride >= 2) are in no data set: "unknown" numbers.

The demo account (demo/demo) and the demo data are seeded first; the big set
then replaces the demo's few ported numbers. The file is built under a temporary
name and renamed when complete, so an interrupted build leaves no half file.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numlookup.store.base import Store

BASE = 46700000000
DIGITS = 8  # k*stride is written in this many digits after "467"
SPACE = 10**DIGITS
# Swedish networks (MCC 240): Telia, Hi3G (Tre), 3GIS, Tele2, Telenor. The build
# stops if the E.212 table does not know one of them.
PLMNS = ("24001", "24002", "24004", "24007", "24008")


def number(k: int, stride: int, digits: int = DIGITS) -> str:
    """The k-th ported number."""
    return f"467{k * stride:0{digits}d}"


def unknown_number(k: int, stride: int, digits: int = DIGITS) -> str:
    """A number next to the k-th ported one that is in no data set."""
    return f"467{k * stride + 1:0{digits}d}"


def plmn(k: int) -> str:
    """The network the k-th number is ported to (Knuth's multiplicative hash)."""
    return PLMNS[(((k * 2654435761) & 0xFFFFFFFF) >> 16) % len(PLMNS)]


def check_layout(count: int, stride: int, digits: int = DIGITS) -> None:
    if count < 1:
        raise SystemExit("make_db: --ported must be at least 1")
    if stride < 2:
        raise SystemExit("make_db: --stride must be at least 2 (room for unknown numbers)")
    if digits not in (7, 8, 9):  # Swedish numbers have 7 to 10 national digits (or 12)
        raise SystemExit("make_db: --digits must be 7, 8 or 9")
    if count * stride > 10**digits:
        raise SystemExit(
            f"make_db: {count} numbers with stride {stride} do not fit in 467 + {digits} digits"
        )


def rows(count: int, stride: int, progress: bool) -> Iterator[tuple[str, str]]:
    step = 1_000_000
    started = time.monotonic()
    for k in range(count):
        if progress and k and k % step == 0:
            rate = k / (time.monotonic() - started)
            print(f"make_db: {k:,} rows ({rate:,.0f}/s)", file=sys.stderr, flush=True)
        yield number(k, stride), plmn(k)


def build(count: int, stride: int, out: Path, progress: bool = True) -> None:
    # Imported here so that the number layout above is usable without the store.
    from numlookup.numbers.e212 import is_known_plmn
    from numlookup.store import demo, open_store

    unknown = [p for p in PLMNS if not is_known_plmn(p)]
    if unknown:
        raise SystemExit(f"make_db: not in the E.212 table: {', '.join(unknown)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    part.unlink(missing_ok=True)
    for leftover in _sidecars(part):
        leftover.unlink()

    started = time.monotonic()
    store = open_store(part)
    try:
        demo.seed(store)
        written = store.replace_ported(rows(count, stride, progress))
        ported, ranges = store.portability_counts()
        _check(store, count, stride)
    finally:
        store.close()
    if ported != count:
        raise SystemExit(f"make_db: the store holds {ported} ported numbers, expected {count}")
    # Fold any write-ahead log into the main file so that one file is the database.
    with sqlite3.connect(part) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for sidecar in _sidecars(part):
        if sidecar.name.endswith("-wal") and sidecar.stat().st_size:
            raise SystemExit(f"make_db: {sidecar} is not empty after a checkpoint")
        sidecar.unlink()
    part.replace(out)
    size = out.stat().st_size / 2**20
    print(
        f"make_db: {out}: {written:,} ported numbers, {ranges} ranges, {size:,.0f} MiB,"
        f" {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )


def write_csv(count: int, stride: int, digits: int, out: Path, progress: bool = True) -> None:
    """The numbers as an import file, `msisdn,mccmnc`, under a temporary name until complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    started = time.monotonic()
    step = 1_000_000
    with open(part, "w", encoding="ascii", newline="\n") as fh:
        fh.write("msisdn,mccmnc\n")
        for start in range(0, count, step):
            if progress and start and start % (10 * step) == 0:
                rate = start / (time.monotonic() - started)
                print(f"make_db: {start:,} rows ({rate:,.0f}/s)", file=sys.stderr, flush=True)
            fh.write(
                "".join(
                    f"467{k * stride:0{digits}d},{plmn(k)}\n"
                    for k in range(start, min(count, start + step))
                )
            )
    part.replace(out)
    size = out.stat().st_size / 2**20
    print(
        f"make_db: {out}: {count:,} ported numbers, {size:,.0f} MiB,"
        f" {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )


def _sidecars(path: Path) -> list[Path]:
    """The files SQLite and the store keep beside a database: -wal, -shm, locks."""
    return [p for p in path.parent.glob(path.name + "*") if p != path]


def _check(store: Store, count: int, stride: int) -> None:
    """A few point look-ups: first, last, some in between, one unknown."""
    lookup = store.ported_lookup
    for k in {0, count // 3, count // 2, count - 1}:
        got = lookup(number(k, stride))
        if got != plmn(k):
            raise SystemExit(f"make_db: {number(k, stride)} -> {got!r}, expected {plmn(k)}")
    if lookup(unknown_number(0, stride)) is not None:
        raise SystemExit(f"make_db: {unknown_number(0, stride)} should not be ported")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ported", type=int, required=True, help="how many ported numbers")
    parser.add_argument("--stride", type=int, default=7, help="gap between numbers (default 7)")
    parser.add_argument(
        "--digits", type=int, default=DIGITS, help=f"digits after 467 (default {DIGITS})"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="database file to write")
    target.add_argument("--csv", type=Path, help="import file (msisdn,mccmnc) to write instead")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    check_layout(args.ported, args.stride, args.digits)
    out: Path = args.csv or args.out
    if out.exists() and not args.force:
        print(f"make_db: {out} exists, reusing it", file=sys.stderr)
        return 0
    if args.csv:
        write_csv(args.ported, args.stride, args.digits, args.csv, progress=not args.quiet)
    elif args.digits != DIGITS:
        raise SystemExit(f"make_db: --digits applies to --csv only (databases use {DIGITS})")
    else:
        build(args.ported, args.stride, args.out, progress=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
