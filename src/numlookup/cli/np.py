"""`numlookup np`: number portability data (ported numbers and ranges).

`np import ported FILE` and `np import ranges FILE` replace the whole set with
the file's rows (the CSV format is described in numlookup.store.csvimport).
A file with bad rows imports nothing unless --skip-bad is given; the bad rows
are listed on standard error with their line numbers either way. The running
server switches to the new set within a second.

`np apply-delta FILE` applies a daily delta file of `action,msisdn,mccmnc`
rows (port-in, port-out, return) in one transaction, without stopping lookups;
bad rows are handled as for imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from numlookup.cli._common import CommandError, store_from_args, table
from numlookup.errors import DataImportError
from numlookup.store.csvimport import Progress, apply_delta, import_ported, import_ranges

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers

MAX_LISTED = 1000  # bad rows printed one per line; the rest are counted


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "np",
        help="number portability data: import, apply-delta, statistics",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    importing = actions.add_parser("import", help="replace ported numbers or ranges from CSV")
    kinds = importing.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, columns in (("ported", "msisdn,mccmnc"), ("ranges", "prefix,mccmnc")):
        sub = kinds.add_parser(kind, help=f"CSV rows of {columns}")
        sub.add_argument("file", type=Path, metavar="FILE")
        sub.add_argument(
            "--skip-bad", action="store_true", help="import the good rows, list the bad ones"
        )
        sub.set_defaults(func=cmd_import)

    delta = actions.add_parser(
        "apply-delta", help="apply port-ins, port-outs and returns from a CSV delta file"
    )
    delta.add_argument("file", type=Path, metavar="FILE", help="CSV rows of action,msisdn,mccmnc")
    delta.add_argument(
        "--skip-bad", action="store_true", help="apply the good rows, list the bad ones"
    )
    delta.set_defaults(func=cmd_apply_delta)

    stats = actions.add_parser("stats", help="how many ported numbers and ranges there are")
    stats.set_defaults(func=cmd_stats)


@contextmanager
def _progress_bar(path: Path) -> Iterator[Progress | None]:
    """A tqdm bar of bytes read, when standard error is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc=path.name, unit="B", unit_scale=True, unit_divisor=1024, leave=False) as bar:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        yield update


def _print_bad(bad: tuple[tuple[int, str], ...] | list[tuple[int, str]]) -> None:
    for line, reason in bad[:MAX_LISTED]:
        print(f"line {line}: {reason}", file=sys.stderr)
    if len(bad) > MAX_LISTED:
        print(f"... and {len(bad) - MAX_LISTED} more bad rows", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    run = import_ported if args.kind == "ported" else import_ranges
    what = "ported numbers" if args.kind == "ported" else "ranges"
    with store_from_args(args) as store, _progress_bar(path) as progress:
        try:
            result = run(store, path, skip_bad=args.skip_bad, progress=progress)
        except DataImportError as exc:
            _print_bad(exc.rows)
            print(
                f"numlookup: nothing imported: {len(exc.rows)} bad rows in {path}"
                " (--skip-bad imports the good rows)",
                file=sys.stderr,
            )
            return 1
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
    if result.bad:
        _print_bad(result.bad)
        print(f"skipped {len(result.bad)} bad rows", file=sys.stderr)
    print(f"imported {result.imported} {what} from {path}")
    return 0


def cmd_apply_delta(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    with store_from_args(args) as store:
        try:
            result = apply_delta(store, path, skip_bad=args.skip_bad)
        except DataImportError as exc:
            _print_bad(exc.rows)
            print(
                f"numlookup: nothing applied: {len(exc.rows)} bad rows in {path}"
                " (--skip-bad applies the good rows)",
                file=sys.stderr,
            )
            return 1
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
    if result.bad:
        _print_bad(result.bad)
        print(f"skipped {len(result.bad)} bad rows", file=sys.stderr)
    print(f"applied {result.upserted} port-ins/outs and {result.removed} returns from {path}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        ported, ranges = store.portability_counts()
        version = store.versions().portability
    print(
        table(
            ("ported numbers", str(ported)),
            [("ranges", str(ranges)), ("data version", str(version))],
        )
    )
    return 0
