"""The HLR simulator's network side: a signalling gateway for M3UA over TCP, and
an IPA client toward osmo-stp. Thin asyncio adapters around numlookup.hlrsim.hlr
and the sans-IO codecs.

- M3UA: each association gets an SGP state machine (numlookup.ss7.m3ua_asp);
  DATA received while ASP-ACTIVE goes to the HLR, and its replies go back as
  DATA with OPC and DPC swapped and the same routing context. A message M3UA
  cannot decode is answered ERR (RFC 4666 §3.8.1) and the association kept;
  bytes that cannot be delimited end it.
- IPA: the CCM handshake names us (`hlrsim`); SCCP frames go to the HLR.
- Replies to wait for (`delay`) are held at most MAX_HELD at once; past that,
  requests get no answer, as from an overloaded HLR.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import cast

from numlookup.config import Listen
from numlookup.errors import CodecError
from numlookup.hlrsim.hlr import Hlr, Reply
from numlookup.ss7 import ipa, m3ua
from numlookup.ss7.m3ua_asp import SgpServer

log = logging.getLogger(__name__)

MAX_HELD = 100_000


class _Replies:
    """Sends replies now or after their delay, with a cap on those waiting."""

    def __init__(self) -> None:
        self.held = 0

    def send(self, replies: list[Reply], write: Callable[[bytes], None]) -> None:
        loop = asyncio.get_running_loop()
        for reply in replies:
            if reply.delay_ms <= 0:
                write(reply.data)
            elif self.held < MAX_HELD:
                self.held += 1
                loop.call_later(reply.delay_ms / 1000, self._release, write, reply.data)

    def _release(self, write: Callable[[bytes], None], data: bytes) -> None:
        self.held -= 1
        write(data)


class SgpConnection(asyncio.Protocol):
    def __init__(self, hlr: Hlr, replies: _Replies, routing_contexts: tuple[int, ...]) -> None:
        self.hlr = hlr
        self.replies = replies
        self.sgp = SgpServer(routing_contexts)
        self.framer = m3ua.StreamFramer()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.framer.feed(data)
        except CodecError as exc:
            log.warning("closing an association: %s", exc)
            if self.transport is not None:
                self.transport.close()
            return
        for raw in frames:
            try:
                message = m3ua.decode(raw)
            except m3ua.M3uaError as exc:
                if not m3ua.is_error_message(raw):
                    self._write(m3ua.encode(m3ua.Error(exc.error_code)))
                continue
            for out in self.sgp.receive(message):
                self._write(m3ua.encode(out))
            for delivered in self.sgp.take_delivered():
                self._answer(delivered)

    def _answer(self, request: m3ua.Data) -> None:
        pd = request.protocol_data

        def write(sccp: bytes) -> None:
            back = m3ua.Data(
                m3ua.ProtocolData(pd.dpc, pd.opc, pd.si, pd.ni, pd.mp, pd.sls, sccp),
                routing_context=request.routing_context,
                network_appearance=request.network_appearance,
            )
            self._write(m3ua.encode(back))

        self.replies.send(self.hlr.handle(pd.data), write)


class IpaSide(asyncio.Protocol):
    """The simulator as an IPA client of osmo-stp (SCCPlite)."""

    def __init__(self, hlr: Hlr, replies: _Replies, unit_name: str = "hlrsim") -> None:
        self.hlr = hlr
        self.replies = replies
        self.client = ipa.IpaClient(unit_name)
        self.framer = ipa.IpaFramer()
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.client.disconnected()
        self.lost.set()

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.framer.feed(data)
        except CodecError as exc:
            log.warning("closing the IPA connection: %s", exc)
            if self.transport is not None:
                self.transport.close()
            return
        for stream, payload in frames:
            if stream == ipa.STREAM_CCM:
                try:
                    answers = self.client.receive(payload)
                except CodecError:
                    continue
                for frame in answers:
                    self._write(frame)
            elif stream == ipa.STREAM_SCCP:
                self.replies.send(
                    self.hlr.handle(payload),
                    lambda sccp: self._write(ipa.encode(ipa.STREAM_SCCP, sccp)),
                )


class HlrSim:
    def __init__(self, hlr: Hlr, routing_contexts: tuple[int, ...] = ()) -> None:
        self.hlr = hlr
        self.routing_contexts = routing_contexts
        self.replies = _Replies()
        self.servers: list[asyncio.base_events.Server] = []
        self.bound: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def listen_m3ua(self, where: Listen) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SgpConnection(self.hlr, self.replies, self.routing_contexts),
            where.host,
            where.port,
        )
        self.servers.append(server)
        host, port = server.sockets[0].getsockname()[:2]
        self.bound["m3ua-tcp"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def connect_ipa(self, where: Listen, unit_name: str = "hlrsim") -> None:
        """Stay connected to an STP's IPA port, reconnecting every second after a loss."""

        async def run() -> None:
            loop = asyncio.get_running_loop()
            while True:
                side = IpaSide(self.hlr, self.replies, unit_name)
                try:
                    await loop.create_connection(
                        functools.partial(_same, side), where.host, where.port
                    )
                except OSError as exc:
                    log.warning("IPA %s: %s", where, exc)
                else:
                    await side.lost.wait()
                await asyncio.sleep(1.0)

        self._tasks.append(asyncio.get_running_loop().create_task(run()))
        self.bound["ipa"] = str(where)

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _same(side: IpaSide) -> IpaSide:
    return side
