"""What the administration commands share: the store, argument checks, tables."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from numlookup import config as config_module
from numlookup.errors import NumlookupError
from numlookup.store import Store, open_store
from numlookup.store.csvimport import is_range_prefix

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


class CommandError(NumlookupError):
    """A command that cannot be carried out as given; the message says why."""


def open_store_from_args(args: argparse.Namespace) -> Store:
    """The store named by the configuration (`--config`, NUMLOOKUP_*).

    A database that this opening creates gets the demo account and data when
    the configuration's `seed_demo` is on, as it would from the server.
    """
    config = config_module.load(getattr(args, "config", None))
    return open_store(config.database_path, seed_demo=config.seed_demo, url=config.database.url)


@contextmanager
def store_from_args(args: argparse.Namespace) -> Iterator[Store]:
    store = open_store_from_args(args)
    try:
        yield store
    finally:
        store.close()


def prefix_arg(text: str, what: str = "prefix") -> str:
    """An E.164 prefix from the command line: '+' dropped, digits with a country code."""
    digits = text.strip().removeprefix("+")
    if not is_range_prefix(digits):
        raise CommandError(
            f"{what} {text!r}: expected 1-15 digits starting with a country code (e.g. 46708)"
        )
    return digits


def prefixes_arg(values: Sequence[str]) -> tuple[str, ...]:
    """Prefixes given as separate arguments and/or comma-separated, without repeats."""
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                prefix = prefix_arg(part, "range")
                if prefix not in found:
                    found.append(prefix)
    return tuple(found)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, in columns two spaces apart."""
    widths = [len(name) for name in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
    return "\n".join(lines)
