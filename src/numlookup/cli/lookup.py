"""`numlookup lookup`: ask running servers, one number or a file of them.

One number: the answer's body is printed as received (`result=OK;imsi=24008`);
the exit status is 0 for any answer, 1 when no server answered.

A file (`--file numbers.csv --out results.csv`): MSISDNs in the first column
(a header row is allowed, blank lines are skipped, a number listed twice is
looked up once), looked up `--concurrency` at a time; one row per answer
(msisdn,result,mcc,mnc,location,raw,server) in CSV or JSON Lines, in the order
the answers come. Each row is flushed as it is written. A run is resumable:
numbers already in the --out file are not looked up again and new rows are
appended (a half-written last line, from a run that was killed, is cut off
first). Numbers that no server answered are not written, so the next run tries
them again; they are counted on stderr. Ctrl-C stops at once, keeping every
row written so far. Exit status: 0 when every number has its row, 1 when some
failed, 130 when interrupted.

Servers are tried in the order given by --server (default http://127.0.0.1:3700),
the next one on connection errors, timeouts and 5xx. --user and --password
default to NUMLOOKUP_CLIENT_USER and NUMLOOKUP_CLIENT_PASSWORD, else demo/demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import httpx
from tqdm import tqdm

from numlookup.cli._common import CommandError
from numlookup.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    LookupClientError,
    LookupResult,
)
from numlookup.client._client import DEADLINE, TIMEOUT

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers

DEFAULT_SERVER = "http://127.0.0.1:3700"
COLUMNS = ("msisdn", "result", "mcc", "mnc", "location", "raw", "server")


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "lookup",
        help="look numbers up on running servers (one, or a file in bulk)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("msisdn", nargs="?", help="the number to look up (or use --file)")
    parser.add_argument("--nocache", action="store_true", help="bypass the servers' cache")
    parser.add_argument(
        "--server",
        action="append",
        dest="servers",
        metavar="URL",
        help=f"a server to ask, in order of preference; repeatable (default {DEFAULT_SERVER})",
    )
    parser.add_argument("--user", help="account (default NUMLOOKUP_CLIENT_USER, else demo)")
    parser.add_argument("--password", help="(default NUMLOOKUP_CLIENT_PASSWORD, else demo)")
    parser.add_argument(
        "-k", "--insecure", action="store_true", help="accept any TLS certificate (https)"
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT, metavar="S")
    parser.add_argument("--deadline", type=float, default=DEADLINE, metavar="S")
    parser.add_argument("--file", type=Path, metavar="CSV", help="MSISDNs in the first column")
    parser.add_argument("--out", type=Path, metavar="FILE", help="results (with --file)")
    parser.add_argument("--concurrency", type=int, default=16, metavar="N")
    parser.add_argument(
        "--format", choices=("csv", "jsonl"), help="default: by --out's suffix, else csv"
    )
    parser.set_defaults(func=cmd_lookup)


def cmd_lookup(args: argparse.Namespace) -> int:
    if (args.msisdn is None) == (args.file is None):
        raise CommandError("give either one MSISDN or --file")
    if args.file is not None and args.out is None:
        raise CommandError("--file needs --out")
    if args.concurrency < 1:
        raise CommandError("--concurrency must be 1 or more")
    servers = args.servers or [DEFAULT_SERVER]
    username = args.user or os.environ.get("NUMLOOKUP_CLIENT_USER") or "demo"
    password = args.password or os.environ.get("NUMLOOKUP_CLIENT_PASSWORD") or "demo"
    if args.msisdn is not None:
        with Client(
            servers,
            username=username,
            password=password,
            timeout=args.timeout,
            deadline=args.deadline,
            verify=not args.insecure,
        ) as client:
            print(client.lookup(args.msisdn, args.nocache).raw)
        return 0
    fmt = args.format or ("jsonl" if args.out.suffix in (".jsonl", ".ndjson") else "csv")
    bulk_client = AsyncClient(
        servers,
        username=username,
        password=password,
        timeout=args.timeout,
        deadline=args.deadline,
        verify=not args.insecure,
        limits=httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        ),
    )
    summary = asyncio.run(
        bulk(bulk_client, args.file, args.out, fmt, args.concurrency, args.nocache)
    )
    print(summary.text(args.out), file=sys.stderr)
    if summary.fatal is not None:
        raise summary.fatal
    if summary.interrupted:
        return 130
    return 1 if summary.failed else 0


# ------------------------------------------------------------------ input


def read_numbers(lines: Iterable[str]) -> list[str]:
    """MSISDNs from CSV lines: first column, header row skipped, blanks and repeats dropped."""
    numbers: dict[str, None] = {}
    first = True
    for row in csv.reader(lines):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if first and not cell.removeprefix("+").isdigit():
            first = False
            continue  # a header row
        first = False
        numbers.setdefault(cell, None)
    return list(numbers)


# ------------------------------------------------------------------ output


def answered_in(path: Path, fmt: str) -> set[str]:
    """MSISDNs already answered in an output file; a half-written last line is cut off.

    Every row is written whole and flushed, so only the last line can be
    incomplete (the writer was killed in the middle of it): the file is
    truncated to its last newline, and the number on that line is looked up
    again.
    """
    if not path.exists():
        return set()
    with path.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            handle.truncate(keep)
            data = data[:keep]
    text = data.decode("utf-8")
    done: set[str] = set()
    if fmt == "jsonl":
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("msisdn"), str):
                done.add(row["msisdn"])
    else:
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(row) == len(COLUMNS) and row != list(COLUMNS):
                done.add(row[0])
    return done


class ResultWriter:
    """Appends one row per answer, flushed at once (so an interruption loses none)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.fmt = fmt
        self._file: TextIO = path.open("a", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        if fmt == "csv" and self._file.tell() == 0:
            self._csv.writerow(COLUMNS)
            self._file.flush()

    def write(self, msisdn: str, answer: LookupResult) -> None:
        values = (
            msisdn,
            answer.result.value,
            answer.mcc,
            answer.mnc,
            answer.location,
            answer.raw,
            answer.server,
        )
        if self.fmt == "jsonl":
            self._file.write(json.dumps(dict(zip(COLUMNS, values, strict=True))) + "\n")
        else:
            self._csv.writerow(["" if value is None else value for value in values])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# ------------------------------------------------------------------ the run


@dataclass
class BulkSummary:
    already: int = 0
    answered: int = 0
    failed: int = 0
    interrupted: bool = False
    fatal: LookupClientError | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)

    def text(self, out: Path) -> str:
        parts = [f"{self.answered} answered", f"{self.already} already in {out}"]
        if self.failed:
            parts.append(f"{self.failed} failed (not written; run again to retry them)")
        line = ", ".join(parts)
        if self.failures:
            msisdn, why = self.failures[0]
            line += f"\nfirst failure: {msisdn}: {why}"
        if self.interrupted:
            line += "\ninterrupted: run the same command again to go on"
        return line


async def bulk(
    client: AsyncClient,
    source: Path,
    out: Path,
    fmt: str,
    concurrency: int,
    nocache: bool = False,
) -> BulkSummary:
    """Look up every number of `source` not yet answered in `out`, appending to it."""
    with source.open(encoding="utf-8", newline="") as handle:
        numbers = read_numbers(handle)
    done = answered_in(out, fmt)
    todo = [number for number in numbers if number not in done]
    summary = BulkSummary(already=len(numbers) - len(todo))
    writer = ResultWriter(out, fmt)
    progress = tqdm(
        total=len(todo), disable=not sys.stderr.isatty(), file=sys.stderr, unit="lookup"
    )
    pending = iter(todo)

    async def worker() -> None:
        for msisdn in pending:
            if summary.fatal is not None:
                return
            try:
                answer = await client.lookup(msisdn, nocache)
            except AuthenticationError as exc:
                summary.fatal = exc  # every other number would fail the same way
                return
            except LookupClientError as exc:
                summary.failed += 1
                summary.failures.append((msisdn, str(exc)))
            else:
                writer.write(msisdn, answer)
                summary.answered += 1
            progress.update(1)

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def interrupt() -> None:
        summary.interrupted = True
        if main is not None:
            main.cancel()

    # Not in the main thread, or without signal support: Ctrl-C stays KeyboardInterrupt.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        if not summary.interrupted:
            raise
        if main is not None:
            main.uncancel()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        progress.close()
        writer.close()
        await client.aclose()
    return summary
