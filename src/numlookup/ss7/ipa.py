"""Osmocom IPA multiplex over TCP: SCCPlite toward osmo-stp (`listen ipa`).

IPA has no published specification; the layout below is libosmocore's
(`include/osmocom/gsm/protocol/ipaccess.h`, `src/gsm/ipa.c`), which osmo-stp
speaks. Every frame is a 2-octet big-endian payload length, a 1-octet stream
identifier, and the payload. SCCP messages travel whole on stream 0xFD with no
M3UA around them; routing is by point code, configured in osmo-stp.

Stream 0xFE carries IPA's own signalling (CCM): PING/PONG keep-alives and the
identity exchange. The server (osmo-stp) sends ID_GET listing tags as pairs
(length 1, tag); the client answers ID_RESP with, per tag, a 2-octet length
(tag plus value), the tag and the value, a NUL-terminated string. osmo-stp
1.6 reads only a unit name (tag 0x01) from it and finds the AS by that name,
so `id_resp` sends that one tag whatever was asked. Then the server sends
ID_ACK and the client acknowledges it once with its own ID_ACK.

Sans-IO: `encode`, `IpaFramer.feed`, the CCM codec, and `IpaClient`, the
client's handshake as a small state machine. Decoders raise only
`CodecError("ipa", ...)`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from numlookup.errors import CodecError

# Stream identifiers (libosmocore enum ipaccess_proto)
STREAM_RSL: Final = 0x00
STREAM_OSMO: Final = 0xEE
STREAM_SCCP: Final = 0xFD
STREAM_CCM: Final = 0xFE
STREAM_OML: Final = 0xFF

# CCM message types (enum ipaccess_msgtype)
CCM_PING: Final = 0x00
CCM_PONG: Final = 0x01
CCM_ID_GET: Final = 0x04
CCM_ID_RESP: Final = 0x05
CCM_ID_ACK: Final = 0x06
CCM_ID_NACK: Final = 0x07

# Identity tags (enum ipaccess_id_tags)
IDTAG_SERIAL_NUMBER: Final = 0x00
IDTAG_UNIT_NAME: Final = 0x01
IDTAG_LOCATION1: Final = 0x02
IDTAG_LOCATION2: Final = 0x03
IDTAG_EQUIPMENT_VERSION: Final = 0x04
IDTAG_SOFTWARE_VERSION: Final = 0x05
IDTAG_IP_ADDRESS: Final = 0x06
IDTAG_MAC_ADDRESS: Final = 0x07
IDTAG_UNIT_ID: Final = 0x08

HEADER_OCTETS: Final = 3
MAX_PAYLOAD_OCTETS: Final = 0xFFFF  # what the 2-octet length can say

_LAYER: Final = "ipa"


def encode(stream: int, payload: bytes) -> bytes:
    """One IPA frame."""
    if len(payload) > MAX_PAYLOAD_OCTETS:
        raise ValueError(f"IPA payload of {len(payload)} octets does not fit")
    return len(payload).to_bytes(2, "big") + bytes((stream,)) + payload


class IpaFramer:
    """(stream, payload) pairs out of a byte stream, one byte at a time if need be.

    A payload longer than `max_payload` raises CodecError; the stream cannot be
    trusted after that, so the connection must be closed (the framer keeps
    refusing).
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD_OCTETS) -> None:
        self._buffer = bytearray()
        self._max = max_payload
        self._broken: CodecError | None = None

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self._broken is not None:
            raise self._broken
        buffer = self._buffer
        buffer += data
        frames: list[tuple[int, bytes]] = []
        pos = 0
        end = len(buffer)
        while end - pos >= HEADER_OCTETS:
            length = (buffer[pos] << 8) | buffer[pos + 1]
            if length > self._max:
                self._broken = CodecError(_LAYER, f"payload length {length} over the limit")
                raise self._broken
            stop = pos + HEADER_OCTETS + length
            if stop > end:
                break
            frames.append((buffer[pos + 2], bytes(buffer[pos + HEADER_OCTETS : stop])))
            pos = stop
        del buffer[:pos]
        return frames

    @property
    def buffered(self) -> int:
        """Octets held back, waiting for the rest of a frame."""
        return len(self._buffer)


@dataclass(frozen=True, slots=True)
class Ccm:
    """A CCM message (stream 0xFE). `identity` holds (tag, value) pairs: the tags an
    ID_GET asks for (values as sent, normally empty) or the answers of an ID_RESP
    (values as sent, with their NUL)."""

    message_type: int
    identity: tuple[tuple[int, bytes], ...] = ()


def encode_ccm(message: Ccm) -> bytes:
    """The payload of a CCM frame."""
    out = bytearray((message.message_type,))
    for tag, value in message.identity:
        if message.message_type == CCM_ID_RESP:
            out += (1 + len(value)).to_bytes(2, "big")
        else:
            out.append(1 + len(value))
        out.append(tag)
        out += value
    return bytes(out)


def decode_ccm(payload: bytes) -> Ccm:
    """Read a CCM payload; ID_GET and ID_RESP have their identity lists parsed."""
    if not payload:
        raise CodecError(_LAYER, "empty CCM message")
    message_type = payload[0]
    if message_type not in (CCM_ID_GET, CCM_ID_RESP):
        return Ccm(message_type)
    wide = message_type == CCM_ID_RESP  # ID_RESP lengths are 2 octets, ID_GET's 1
    items: list[tuple[int, bytes]] = []
    pos = 1
    end = len(payload)
    while pos < end:
        head = 3 if wide else 2
        if end - pos < head:
            raise CodecError(_LAYER, "truncated identity entry")
        length = (payload[pos] << 8) | payload[pos + 1] if wide else payload[pos]
        if length == 0 or pos + head - 1 + length > end:
            raise CodecError(_LAYER, f"identity entry length {length} does not fit")
        tag = payload[pos + head - 1]
        items.append((tag, bytes(payload[pos + head : pos + head - 1 + length])))
        pos += head - 1 + length
    return Ccm(message_type, tuple(items))


def ping() -> bytes:
    return encode(STREAM_CCM, bytes((CCM_PING,)))


def pong() -> bytes:
    return encode(STREAM_CCM, bytes((CCM_PONG,)))


def id_ack() -> bytes:
    return encode(STREAM_CCM, bytes((CCM_ID_ACK,)))


def id_get(tags: tuple[int, ...] = (IDTAG_UNIT_NAME,)) -> bytes:
    return encode(STREAM_CCM, encode_ccm(Ccm(CCM_ID_GET, tuple((t, b"") for t in tags))))


def id_resp(unit_name: str) -> bytes:
    """ID_RESP naming the unit (tag 0x01 only, see the module docstring)."""
    value = unit_name.encode() + b"\x00"
    return encode(STREAM_CCM, encode_ccm(Ccm(CCM_ID_RESP, ((IDTAG_UNIT_NAME, value),))))


def unit_name(message: Ccm) -> str | None:
    """The unit name in an ID_RESP, without its NUL."""
    for tag, value in message.identity:
        if tag == IDTAG_UNIT_NAME:
            return value.split(b"\x00", 1)[0].decode("utf-8", "replace")
    return None


class IpaClientState(enum.Enum):
    WAIT_ID_GET = "WAIT_ID_GET"
    WAIT_ID_ACK = "WAIT_ID_ACK"
    ACTIVE = "ACTIVE"


class IpaClient:
    """The client's CCM handshake and keep-alive, as libosmo-sigtran's IPA ASP does it.

    Rules: PING is answered PONG in any state; PONG clears `unanswered_pings`;
    ID_GET is answered ID_RESP (our unit name) and we wait for ID_ACK; ID_ACK
    before ACTIVE is acknowledged with one ID_ACK and we are ACTIVE (some
    servers skip ID_GET); ID_ACK when ACTIVE is not answered, or two peers
    would acknowledge each other for ever. Other CCM messages are ignored.
    """

    def __init__(self, unit_name: str) -> None:
        self.unit_name = unit_name
        self.state = IpaClientState.WAIT_ID_GET
        self.unanswered_pings = 0

    @property
    def active(self) -> bool:
        return self.state is IpaClientState.ACTIVE

    def receive(self, payload: bytes) -> list[bytes]:
        """A CCM payload in (stream 0xFE); the frames to send back out."""
        message_type = decode_ccm(payload).message_type
        if message_type == CCM_PING:
            return [pong()]
        if message_type == CCM_PONG:
            self.unanswered_pings = 0
            return []
        if message_type == CCM_ID_GET:
            if self.state is not IpaClientState.ACTIVE:
                self.state = IpaClientState.WAIT_ID_ACK
            return [id_resp(self.unit_name)]
        if message_type == CCM_ID_ACK and self.state is not IpaClientState.ACTIVE:
            self.state = IpaClientState.ACTIVE
            return [id_ack()]
        return []

    def ping(self) -> bytes:
        """A PING to send now; its PONG clears `unanswered_pings`."""
        self.unanswered_pings += 1
        return ping()

    def disconnected(self) -> None:
        self.state = IpaClientState.WAIT_ID_GET
        self.unanswered_pings = 0
