"""`numlookup records export`: the lookup records, for billing.

Times on the command line (--since, --until) are ISO 8601 datetimes
(`2024-05-01T12:00:00Z`; without an offset, UTC) or dates (`2024-05-01`,
midnight UTC), or Unix seconds (`1714564800`). --since is inclusive, --until
exclusive. Output times are ISO 8601 UTC with milliseconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from numlookup.cli._common import CommandError, store_from_args
from numlookup.store.base import LookupRecord

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers

COLUMNS = ("time", "account", "msisdn", "result", "imsi", "location", "source", "latency_us")


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "records",
        help="lookup records (billing)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write lookup records as CSV or JSON Lines")
    export.add_argument("--since", metavar="T", help="from this time on (inclusive)")
    export.add_argument("--until", metavar="T", help="before this time (exclusive)")
    export.add_argument("--account", metavar="USER", help="only this account's records")
    export.add_argument("--format", choices=("csv", "jsonl"), required=True)
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(func=cmd_export)


def parse_time(text: str, option: str = "time") -> float:
    """Unix seconds from ISO 8601 (datetime or date; UTC unless an offset is given)
    or from a number of Unix seconds."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise CommandError(f"{option} {text!r}: not a time")
        return seconds
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} {text!r}: expected an ISO 8601 date or datetime, or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds: 2024-05-01T12:00:00.123Z."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: LookupRecord) -> tuple[str, str, str, str, str | None, str | None, str, int]:
    return (
        format_time(record.time),
        record.account,
        record.msisdn,
        record.result,
        record.imsi,
        record.location,
        record.source,
        record.latency_us,
    )


def write_csv(records: Iterable[LookupRecord], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for record in records:
        writer.writerow(_fields(record))  # None is written as an empty cell
        count += 1
    return count


def write_jsonl(records: Iterable[LookupRecord], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(dict(zip(COLUMNS, _fields(record), strict=True))) + "\n")
        count += 1
    return count


def cmd_export(args: argparse.Namespace) -> int:
    since = None if args.since is None else parse_time(args.since, "--since")
    until = None if args.until is None else parse_time(args.until, "--until")
    write = write_csv if args.format == "csv" else write_jsonl
    with store_from_args(args) as store:
        records = store.iter_records(since=since, until=until, account=args.account)
        if args.out is None:
            write(records, sys.stdout)
            sys.stdout.flush()
            return 0
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                count = write(records, out)
        except OSError as exc:
            raise CommandError(f"{args.out}: {exc.strerror}") from None
    print(f"{count} records written to {args.out}", file=sys.stderr)
    return 0
