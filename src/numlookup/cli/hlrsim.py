"""`numlookup hlr-sim`: run the HLR simulator (M3UA over TCP, and/or IPA toward osmo-stp)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from importlib import resources
from pathlib import Path
from typing import Any

from numlookup.config import parse_listen
from numlookup.errors import ConfigError
from numlookup.hlrsim import subscribers
from numlookup.hlrsim.hlr import Hlr
from numlookup.hlrsim.server import HlrSim

DEFAULT_GT = "46708999999"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "hlr-sim",
        help="run the HLR simulator",
        description="An HLR answering MAP SendRoutingInfoForSM from a subscriber table,"
        " with its own signalling gateway (M3UA over TCP) or as an IPA client of osmo-stp.",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:2905", help="M3UA over TCP host:port ('' for none)"
    )
    parser.add_argument("--ipa", default="", help="connect to an STP's IPA port, host:port")
    parser.add_argument(
        "--subscribers", type=Path, help="subscriber table CSV (default: the demo table)"
    )
    parser.add_argument("--gt", default=DEFAULT_GT, help="the HLR's Global Title")
    parser.add_argument(
        "--routing-context", type=int, action="append", default=[], help="accepted RC (repeat)"
    )
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run)


def _table(path: Path | None) -> subscribers.SubscriberTable:
    if path is not None:
        return subscribers.load(path)
    demo = resources.files("numlookup") / "data" / "demo" / "hlr-subscribers.csv"
    return subscribers.parse(demo.read_text(encoding="utf-8"))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    listen = parse_listen("--listen", args.listen)
    ipa = parse_listen("--ipa", args.ipa)
    if listen is None and ipa is None:
        raise ConfigError("--listen", "give --listen, --ipa or both")
    gt = args.gt.removeprefix("+")
    if not gt.isdigit():
        raise ConfigError("--gt", "expected an E.164 number")
    sim = HlrSim(Hlr(_table(args.subscribers), gt), tuple(args.routing_context))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if listen is not None:
            await sim.listen_m3ua(listen)
        if ipa is not None:
            sim.connect_ipa(ipa)
        parts = " ".join(f"{name}={where}" for name, where in sim.bound.items())
        print(f"hlr-sim listening {parts}", flush=True)
        await stop.wait()
        await sim.close()

    asyncio.run(main())
    return 0
