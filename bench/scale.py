"""Helpers of bench/scale.sh: a throwaway PostgreSQL, timed commands, answer probes.

    python bench/scale.py postgres --info FILE
    python bench/scale.py measure --out FILE [--rows N] -- COMMAND [ARG ...]
    python bench/scale.py probe URL --rows N [--stride S] [--digits D]

`postgres` starts a PostgreSQL server in a temporary directory on a free
loopback port, with the test fixtures' code (tests/support/postgres.py: initdb
as the `postgres` user when run as root, trust authentication on 127.0.0.1,
fsync off), writes `url pid` to FILE once it accepts connections, and runs
until SIGTERM or SIGINT, when it stops the server and removes the directory.

`measure` runs COMMAND and writes, one `name value` per line: its wall time
(`seconds`), its peak resident memory (`max_rss_kb`, the largest of the command
and the processes it waited for), its CPU time (`user_seconds`,
`system_seconds`), its exit status, and `rows` when given. The command's output
passes through. Exits with the command's status.

`probe` asks a numlookup server for a few numbers of the make_db.py layout
(`&nocache`) and checks each answer's network; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cmd_postgres(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import PostgresServer

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = PostgresServer().start()
    try:
        assert server.proc is not None
        part = args.info.with_name(args.info.name + ".part")
        part.write_text(f"{server.url()} {server.proc.pid}\n")
        part.replace(args.info)
        while not stopping:  # until a signal, or PostgreSQL's own exit
            try:
                server.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
            print("scale: postgres exited", file=sys.stderr)
            return 1
    finally:
        server.stop()
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("scale: measure needs a command")
    started = time.monotonic()
    status = subprocess.call(command)
    seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [
        f"seconds {seconds:.3f}",
        f"max_rss_kb {usage.ru_maxrss}",
        f"user_seconds {usage.ru_utime:.3f}",
        f"system_seconds {usage.ru_stime:.3f}",
        f"status {status}",
    ]
    if args.rows is not None:
        lines.append(f"rows {args.rows}")
    args.out.write_text("\n".join(lines) + "\n")
    return status


def cmd_probe(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from make_db import number, plmn
    from probe import DEMO, expect

    base = args.url.split("?", 1)[0]
    errors: list[str] = []
    for k in sorted({0, 1, args.rows // 3, args.rows // 2, args.rows - 1}):
        url = f"{base}?msisdn={number(k, args.stride, args.digits)}&nocache"
        errors += expect(url, DEMO, 200, f"result=OK;imsi={plmn(k)}")
    for error in errors:
        print(f"scale: probe: {error}", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command_name", required=True)

    postgres = commands.add_parser("postgres", help="run a throwaway PostgreSQL server")
    postgres.add_argument("--info", type=Path, required=True, help="file to write `url pid` to")
    postgres.set_defaults(func=cmd_postgres)

    measure = commands.add_parser("measure", help="run a command, record its time and memory")
    measure.add_argument("--out", type=Path, required=True)
    measure.add_argument("--rows", type=int, help="rows the command imports, for the report")
    measure.add_argument("command", nargs=argparse.REMAINDER)
    measure.set_defaults(func=cmd_measure)

    probe = commands.add_parser("probe", help="check a server's answers for a few numbers")
    probe.add_argument("url")
    probe.add_argument("--rows", type=int, required=True)
    probe.add_argument("--stride", type=int, default=7)
    probe.add_argument("--digits", type=int, default=9)
    probe.set_defaults(func=cmd_probe)

    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
