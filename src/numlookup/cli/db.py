"""`numlookup db upgrade` and `numlookup db status`: the database schema.

The schema is a list of numbered migrations (store/migrations/ for SQLite,
store/migrations_pg/ for PostgreSQL). `upgrade` applies the pending ones (as
opening the database from the server or any command also does) and prints the
schema version; `status` prints the engine, the database, and the schema
version against the newest this numlookup knows, changing nothing on
PostgreSQL. Neither adds the demo data.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from numlookup import config as config_module

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "db",
        help="database schema (migrations)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="apply pending migrations").set_defaults(func=cmd_upgrade)
    actions.add_parser("status", help="show the schema version").set_defaults(func=cmd_status)


def schema(config: config_module.Config, *, upgrade: bool) -> tuple[str, str, int, int]:
    """(engine, database, schema version, newest known version), after upgrading if asked.

    SQLite files are brought up to date whenever they are opened, so there
    `status` upgrades too; on PostgreSQL it only reads.
    """
    url = config.database.url
    if url is not None:
        from numlookup.store import postgres

        pg = postgres.PostgresStore(url, migrate=upgrade)
        try:
            current = pg.schema_version()
        finally:
            pg.close()
        return "postgresql", postgres.describe(url), current, len(postgres.migrations())
    from numlookup.store import sqlite

    lite = sqlite.SqliteStore(config.database_path)
    try:
        current = lite.schema_version()
    finally:
        lite.close()
    return "sqlite", str(config.database_path), current, len(sqlite.migrations())


def cmd_upgrade(args: argparse.Namespace) -> int:
    config = config_module.load(getattr(args, "config", None))
    _, _, version, _ = schema(config, upgrade=True)
    print(f"schema version {version}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = config_module.load(getattr(args, "config", None))
    engine, where, current, latest = schema(config, upgrade=False)
    pending = max(latest - current, 0)
    print(f"engine          {engine}")
    print(f"database        {where}")
    print(f"schema version  {current} (newest known: {latest})")
    print(f"pending         {pending}" + ("  (run `numlookup db upgrade`)" if pending else ""))
    return 0
