"""`numlookup` entry point: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from numlookup import __version__
from numlookup.cli import account, block, db, hlrsim, lookup, np, records, serve
from numlookup.errors import NumlookupError

MODULES = (serve, account, block, np, records, hlrsim, lookup, db)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numlookup",
        description="Number Lookup server: which network serves an MSISDN now.",
    )
    parser.add_argument("--version", action="version", version=f"numlookup {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="TOML configuration file (default: none; NUMLOOKUP_CONFIG also names one)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except NumlookupError as exc:
        print(f"numlookup: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
