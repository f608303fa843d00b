"""`numlookup serve`: run the lookup server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from numlookup import config as config_module
from numlookup.config import parse_listen

log = logging.getLogger(__name__)

SWITCH_INTERVAL = 0.0005  # seconds


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the lookup server (HTTP and HTTPS)")
    parser.add_argument("--http", help="HTTP listener host:port ('' to turn it off)")
    parser.add_argument("--https", help="HTTPS listener host:port ('' to turn it off)")
    parser.add_argument("--metrics", help="Prometheus metrics listener host:port ('' off)")
    parser.set_defaults(func=run)


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it builds
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from numlookup.server.app import Server, announce

    config = config_module.load(args.config)
    server_settings = config.server
    if args.http is not None:
        server_settings = replace(server_settings, http=parse_listen("--http", args.http))
    if args.https is not None:
        server_settings = replace(server_settings, https=parse_listen("--https", args.https))
    if args.metrics is not None:
        server_settings = replace(server_settings, metrics=parse_listen("--metrics", args.metrics))
    config = replace(config, server=server_settings)
    logging.basicConfig(
        level=config.log.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    # The record writer thread holds the GIL while it binds a batch; a short
    # switch interval keeps the event loop from waiting the default 5 ms for it.
    sys.setswitchinterval(SWITCH_INTERVAL)

    async def main() -> None:
        server = Server(config)
        await server.run(ready=announce)

    with asyncio.Runner(loop_factory=_loop_factory) as runner:
        runner.run(main())
    return 0
