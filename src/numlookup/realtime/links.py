"""Signalling links to the network: thin asyncio adapters around the sans-IO codecs.

A `Link` is one association to one peer (a signalling gateway or an STP):
- `m3ua-tcp`: M3UA (RFC 4666) over TCP, messages delimited by M3UA's own
  length; the ASP state machine (numlookup.ss7.m3ua_asp) brings it to
  ASP-ACTIVE, BEATs keep it honest.
- `ipa`: SCCP over Osmocom's IPA multiplex (SCCPlite), e.g. toward osmo-stp;
  the CCM handshake names us, PINGs keep it honest.
- `m3ua-sctp`: M3UA over kernel SCTP (payload protocol id 3), where the kernel
  has SCTP; here it reports the kernel's refusal and keeps retrying.

A link connects, and after a loss reconnects with a doubling back-off
(`reconnect_min` .. `reconnect_max`). Two heartbeats in a row without an
answer count as a lost peer. `LinkSet` sends on the first active link in the
configured order, so traffic moves to the backup when the primary fails and
back when it returns. Every SCCP message received is handed to `on_sccp`;
`on_down` hears of every link that stops being active, so the dialogues sent
on it can be answered at once.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import cast

from numlookup.config import Peer, RealtimeConfig
from numlookup.errors import CodecError
from numlookup.ss7 import ipa, m3ua
from numlookup.ss7.m3ua_asp import AspClient

log = logging.getLogger(__name__)

SI_SCCP = 3  # RFC 4666 §3.3.1 / Q.704 §14.2.1: service indicator of SCCP
SCTP_PPID_M3UA = 3
MISSED_HEARTBEATS = 2


class Link(asyncio.Protocol, abc.ABC):
    """One peer, kept connected. Subclasses speak the protocol of the transport."""

    def __init__(
        self,
        peer: Peer,
        settings: RealtimeConfig,
        on_sccp: Callable[[Link, bytes], None],
        on_down: Callable[[Link], None],
    ) -> None:
        self.peer = peer
        self.settings = settings
        self.on_sccp = on_sccp
        self.on_down = on_down
        self.transport: asyncio.Transport | None = None
        self._lost: asyncio.Event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._was_active = False
        self.sent = 0
        self.received = 0
        self._setup()

    def __str__(self) -> str:
        return str(self.peer)

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"link {self}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.transport is not None:
            self.transport.abort()
        self._went_down()

    async def _run(self) -> None:
        delay = self.settings.reconnect_min
        loop = asyncio.get_running_loop()
        while True:
            self._lost.clear()
            try:
                await self._connect(loop)
            except OSError as exc:
                log.warning("%s: cannot connect: %s; again in %.1f s", self, exc, delay)
            else:
                log.info("%s: connected", self)
                delay = self.settings.reconnect_min
                beat = loop.create_task(self._keepalive())
                await self._lost.wait()
                beat.cancel()
                log.warning("%s: connection lost; again in %.1f s", self, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.reconnect_max)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        address = self.peer.address
        await loop.create_connection(lambda: self, address.host, address.port)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            if self._missed_heartbeats() >= MISSED_HEARTBEATS:
                log.warning("%s: no answer to heartbeats, dropping the connection", self)
                self.close()
                return
            self._heartbeat()

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._started()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._went_down()
        self._lost.set()

    def data_received(self, data: bytes) -> None:
        try:
            self._bytes_in(data)
        except CodecError as exc:
            # The stream cannot be delimited any more (RFC 4666 §3.8.1: a
            # framing error ends the association).
            log.warning("%s: %s; closing", self, exc)
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # ---------------------------------------------------------------- state

    @property
    @abc.abstractmethod
    def active(self) -> bool:
        """Able to carry traffic now."""

    def _check_state(self) -> None:
        if self._was_active and not self.active:
            self._went_down()
        elif self.active and not self._was_active:
            self._was_active = True
            log.info("%s: active", self)

    def _went_down(self) -> None:
        if self._was_active:
            self._was_active = False
            self.on_down(self)

    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    # ---------------------------------------------------------------- protocol parts

    @abc.abstractmethod
    def _setup(self) -> None:
        """Make the protocol's state machine and framer (once, at creation)."""

    @abc.abstractmethod
    def send(self, sccp: bytes) -> bool:
        """Send one SCCP message; False when the link cannot carry traffic now."""

    @abc.abstractmethod
    def _started(self) -> None:
        """The transport is up: start the handshake."""

    @abc.abstractmethod
    def _bytes_in(self, data: bytes) -> None:
        """Bytes from the peer."""

    @abc.abstractmethod
    def _heartbeat(self) -> None:
        """Send one keep-alive."""

    @abc.abstractmethod
    def _missed_heartbeats(self) -> int:
        """Keep-alives sent and not answered."""


class M3uaLink(Link):
    """M3UA over TCP (or SCTP): numlookup is an ASP of the gateway's AS."""

    def _setup(self) -> None:
        context = self.settings.routing_context
        contexts = (context,) if context is not None else ()
        self.asp = AspClient(routing_contexts=contexts, traffic_mode=m3ua.TRAFFIC_MODE_LOADSHARE)
        self.framer = m3ua.StreamFramer()
        self._sls = 0

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.peer.transport != "m3ua-sctp":
            await super()._connect(loop)
            return
        address = self.peer.address
        sock = socket.socket(
            socket.AF_INET6 if ":" in address.host else socket.AF_INET,
            socket.SOCK_STREAM,
            socket.IPPROTO_SCTP,
        )
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (address.host, address.port))
        except OSError:
            sock.close()
            raise
        await loop.create_connection(lambda: self, sock=sock)

    @property
    def active(self) -> bool:
        return self.transport is not None and self.asp.active

    def _started(self) -> None:
        self.framer = m3ua.StreamFramer()
        self._send_all(self.asp.connected())

    def connection_lost(self, exc: Exception | None) -> None:
        self.asp.disconnected()
        super().connection_lost(exc)

    def _send_all(self, messages: list[m3ua.Message]) -> None:
        for message in messages:
            self._write(m3ua.encode(message))

    def _bytes_in(self, data: bytes) -> None:
        for raw in self.framer.feed(data):
            try:
                message = m3ua.decode(raw)
            except m3ua.M3uaError as exc:
                # RFC 4666 §3.8.1: answer ERR and keep the association (but
                # never answer an ERR with an ERR).
                log.warning("%s: %s", self, exc)
                if not m3ua.is_error_message(raw):
                    self._send_all([m3ua.Error(exc.error_code)])
                continue
            self._send_all(self.asp.receive(message))
            for delivered in self.asp.take_delivered():
                self.received += 1
                self.on_sccp(self, delivered.protocol_data.data)
        self._check_state()

    def send(self, sccp: bytes) -> bool:
        if not self.active:
            return False
        settings = self.settings
        self._sls = (self._sls + 1) & 0x0F
        data = m3ua.Data(
            m3ua.ProtocolData(
                settings.local_pc,
                settings.remote_pc,
                SI_SCCP,
                settings.network_indicator,
                0,
                self._sls,
                sccp,
            ),
            routing_context=settings.routing_context,
            network_appearance=settings.network_appearance,
        )
        self._write(m3ua.encode(data))
        self.sent += 1
        return True

    def _heartbeat(self) -> None:
        if self.transport is None:
            return
        if self.asp.active:
            self._send_all([self.asp.heartbeat()])
        else:
            # ASP Up or ASP Active not acknowledged yet: T(ack) ran out, ask again
            # (RFC 4666 §4.3.4.1).
            self._send_all(self.asp.retransmit())

    def _missed_heartbeats(self) -> int:
        return self.asp.unacknowledged_beats


class IpaLink(Link):
    """SCCP over IPA toward osmo-stp: the STP routes by the point codes it configures."""

    UNIT_NAME = "numlookup"

    def _setup(self) -> None:
        self.client = ipa.IpaClient(self.UNIT_NAME)
        self.framer = ipa.IpaFramer()

    @property
    def active(self) -> bool:
        return self.transport is not None and self.client.active

    def _started(self) -> None:
        self.framer = ipa.IpaFramer()
        self.client.disconnected()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.disconnected()
        super().connection_lost(exc)

    def _bytes_in(self, data: bytes) -> None:
        for stream, payload in self.framer.feed(data):
            if stream == ipa.STREAM_CCM:
                for frame in self.client.receive(payload):
                    self._write(frame)
            elif stream == ipa.STREAM_SCCP and self.client.active:
                self.received += 1
                self.on_sccp(self, payload)
        self._check_state()

    def send(self, sccp: bytes) -> bool:
        if not self.active:
            return False
        self._write(ipa.encode(ipa.STREAM_SCCP, sccp))
        self.sent += 1
        return True

    def _heartbeat(self) -> None:
        if self.transport is not None:
            self._write(self.client.ping())

    def _missed_heartbeats(self) -> int:
        return self.client.unanswered_pings


def make_link(
    peer: Peer,
    settings: RealtimeConfig,
    on_sccp: Callable[[Link, bytes], None],
    on_down: Callable[[Link], None],
) -> Link:
    if peer.transport == "ipa":
        return IpaLink(peer, settings, on_sccp, on_down)
    return M3uaLink(peer, settings, on_sccp, on_down)


class LinkSet:
    """The configured peers in order: traffic goes to the first one that is active."""

    def __init__(self, links: list[Link]) -> None:
        self.links = links

    def first_active(self) -> Link | None:
        for link in self.links:
            if link.active:
                return link
        return None

    def start(self) -> None:
        for link in self.links:
            link.start()

    async def stop(self) -> None:
        for link in self.links:
            await link.stop()
