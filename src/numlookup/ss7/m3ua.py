"""M3UA, RFC 4666: messages, parameters, and message framing over a byte stream.

Sans-IO: `encode(message) -> bytes`, `decode(bytes) -> message` over frozen
dataclasses, and `StreamFramer` for M3UA over TCP (the common header's length
delimits messages). Decoding raises only `M3uaError`, a `CodecError` that
carries the RFC 4666 §3.8.1 error code to answer with in an ERR message.

Messages handled: MGMT ERR and NTFY (§3.8), TRANSFER DATA (§3.3.1), the SSNM
messages DUNA DAVA DAUD SCON DUPU DRST (§3.4) as one `Ssnm` type, ASPSM
(§3.5) and ASPTM (§3.7). RKM (§3.6) and any other class is answered
"Unsupported Message Class"; an unknown type of a known class "Unsupported
Message Type". Parameters a message does not use are ignored on decode
(§3.2 gives no error for them); a parameter given twice counts once, the last.
The padding of the last parameter may be missing on receipt. Encoders trust
their input: a value out of range raises ValueError or struct.error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, TypeAlias

from numlookup.errors import CodecError

VERSION: Final = 1  # §3.1.1, release 1.0

# §3.1.2 message classes
CLASS_MGMT: Final = 0
CLASS_TRANSFER: Final = 1
CLASS_SSNM: Final = 2
CLASS_ASPSM: Final = 3
CLASS_ASPTM: Final = 4
CLASS_RKM: Final = 9

# §3.4 SSNM message types (the `message_type` of `Ssnm`)
SSNM_DUNA: Final = 1
SSNM_DAVA: Final = 2
SSNM_DAUD: Final = 3
SSNM_SCON: Final = 4
SSNM_DUPU: Final = 5
SSNM_DRST: Final = 6

# §3.8.1 error codes
ERROR_INVALID_VERSION: Final = 0x01
ERROR_UNSUPPORTED_MESSAGE_CLASS: Final = 0x03
ERROR_UNSUPPORTED_MESSAGE_TYPE: Final = 0x04
ERROR_UNSUPPORTED_TRAFFIC_MODE_TYPE: Final = 0x05
ERROR_UNEXPECTED_MESSAGE: Final = 0x06
ERROR_PROTOCOL_ERROR: Final = 0x07
ERROR_INVALID_STREAM_IDENTIFIER: Final = 0x09
ERROR_REFUSED_MANAGEMENT_BLOCKING: Final = 0x0D
ERROR_ASP_IDENTIFIER_REQUIRED: Final = 0x0E
ERROR_INVALID_ASP_IDENTIFIER: Final = 0x0F
ERROR_INVALID_PARAMETER_VALUE: Final = 0x11
ERROR_PARAMETER_FIELD_ERROR: Final = 0x12
ERROR_UNEXPECTED_PARAMETER: Final = 0x13
ERROR_DESTINATION_STATUS_UNKNOWN: Final = 0x14
ERROR_INVALID_NETWORK_APPEARANCE: Final = 0x15
ERROR_MISSING_PARAMETER: Final = 0x16
ERROR_INVALID_ROUTING_CONTEXT: Final = 0x19
ERROR_NO_CONFIGURED_AS_FOR_ASP: Final = 0x1A

# §3.2 common and §3.3-3.8 M3UA-specific parameter tags
TAG_INFO_STRING: Final = 0x0004
TAG_ROUTING_CONTEXT: Final = 0x0006
TAG_DIAGNOSTIC_INFORMATION: Final = 0x0007
TAG_HEARTBEAT_DATA: Final = 0x0009
TAG_TRAFFIC_MODE_TYPE: Final = 0x000B
TAG_ERROR_CODE: Final = 0x000C
TAG_STATUS: Final = 0x000D
TAG_ASP_IDENTIFIER: Final = 0x0011
TAG_AFFECTED_POINT_CODE: Final = 0x0012
TAG_CORRELATION_ID: Final = 0x0013
TAG_NETWORK_APPEARANCE: Final = 0x0200
TAG_USER_CAUSE: Final = 0x0204
TAG_PROTOCOL_DATA: Final = 0x0210

# §3.7.1 traffic mode type
TRAFFIC_MODE_OVERRIDE: Final = 1
TRAFFIC_MODE_LOADSHARE: Final = 2
TRAFFIC_MODE_BROADCAST: Final = 3

# §3.8.2 status type and information
STATUS_AS_STATE_CHANGE: Final = 1
STATUS_OTHER: Final = 2
AS_INACTIVE: Final = 2
AS_ACTIVE: Final = 3
AS_PENDING: Final = 4
OTHER_INSUFFICIENT_ASP_RESOURCES: Final = 1
OTHER_ALTERNATE_ASP_ACTIVE: Final = 2
OTHER_ASP_FAILURE: Final = 3

# §3.3.1 service indicator and network indicator (Q.704 §14.2)
SI_SCCP: Final = 3
NI_INTERNATIONAL: Final = 0
NI_NATIONAL: Final = 2

HEADER_OCTETS: Final = 8
# The framer refuses longer messages; a DATA with a whole SCCP XUDT is far shorter.
MAX_MESSAGE_OCTETS: Final = 65536

_LAYER: Final = "m3ua"
_HEADER = struct.Struct(">BBBBI")
_TL = struct.Struct(">HH")
_TLV_U32 = struct.Struct(">HHI")
_PROTOCOL_DATA = struct.Struct(">HHIIBBBB")  # tag, length, OPC, DPC, SI, NI, MP, SLS
_ROUTING_LABEL = struct.Struct(">IIBBBB")  # OPC, DPC, SI, NI, MP, SLS
_PAD: Final = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # by value length mod 4


class M3uaError(CodecError):
    """M3UA octets refused; `error_code` (§3.8.1) is what an ERR should carry."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(_LAYER, message)
        self.error_code = error_code


@dataclass(frozen=True, slots=True)
class ProtocolData:
    """Protocol Data parameter, §3.3.1: the MTP3 routing label fields and user data."""

    opc: int
    dpc: int
    si: int
    ni: int
    mp: int
    sls: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AffectedPointCode:
    """One entry of the Affected Point Code parameter, §3.4.1."""

    point_code: int
    mask: int = 0


@dataclass(frozen=True, slots=True)
class Data:
    """DATA, §3.3.1 (one Routing Context value at most)."""

    protocol_data: ProtocolData
    routing_context: int | None = None
    network_appearance: int | None = None
    correlation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """ERR, §3.8.1."""

    error_code: int
    diagnostic: bytes | None = None
    routing_contexts: tuple[int, ...] = ()
    network_appearance: int | None = None
    affected_point_codes: tuple[AffectedPointCode, ...] = ()


@dataclass(frozen=True, slots=True)
class Notify:
    """NTFY, §3.8.2."""

    status_type: int
    status_info: int
    asp_identifier: int | None = None
    routing_contexts: tuple[int, ...] = ()
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class Ssnm:
    """DUNA, DAVA, DAUD, SCON, DUPU or DRST (§3.4), told apart by `message_type`.

    DUPU's User/Cause (§3.4.5) is `unavailability_cause` and `user_identity`;
    SCON's Concerned Destination and Congestion Indications (§3.4.4) are not kept.
    """

    message_type: int
    affected_point_codes: tuple[AffectedPointCode, ...]
    network_appearance: int | None = None
    routing_contexts: tuple[int, ...] = ()
    unavailability_cause: int | None = None
    user_identity: int | None = None
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspUp:
    """ASP Up, §3.5.1."""

    asp_identifier: int | None = None
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspUpAck:
    """ASP Up Ack, §3.5.2."""

    asp_identifier: int | None = None
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspDown:
    """ASP Down, §3.5.3."""

    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspDownAck:
    """ASP Down Ack, §3.5.4."""

    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class Beat:
    """Heartbeat, §3.5.5; the data is opaque and echoed in the ack."""

    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class BeatAck:
    """Heartbeat Ack, §3.5.6."""

    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class AspActive:
    """ASP Active, §3.7.1."""

    traffic_mode: int | None = None
    routing_contexts: tuple[int, ...] = ()
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspActiveAck:
    """ASP Active Ack, §3.7.2."""

    traffic_mode: int | None = None
    routing_contexts: tuple[int, ...] = ()
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspInactive:
    """ASP Inactive, §3.7.3."""

    routing_contexts: tuple[int, ...] = ()
    info_string: str | None = None


@dataclass(frozen=True, slots=True)
class AspInactiveAck:
    """ASP Inactive Ack, §3.7.4."""

    routing_contexts: tuple[int, ...] = ()
    info_string: str | None = None


Management: TypeAlias = Error | Notify | Ssnm
AspStateMaintenance: TypeAlias = AspUp | AspUpAck | AspDown | AspDownAck | Beat | BeatAck
AspTrafficMaintenance: TypeAlias = AspActive | AspActiveAck | AspInactive | AspInactiveAck
Message: TypeAlias = Data | Management | AspStateMaintenance | AspTrafficMaintenance


# --- parameters, §3.2, and each message's layout --------------------------------

# Kinds of parameter value: one 32-bit integer, a list of them, UTF-8 text,
# opaque octets, Affected Point Code entries (mask, 24-bit PC), and two 16-bit
# halves held as two fields named "high/low" (Status §3.8.2, User/Cause §3.4.5).
_U32, _U32S, _TEXT, _OPAQUE, _POINTS, _PAIR = range(6)
_Layout: TypeAlias = tuple[tuple[int, str, int, bool], ...]  # tag, field, kind, mandatory

_RC: Final = (TAG_ROUTING_CONTEXT, "routing_contexts", _U32S, False)
_NA: Final = (TAG_NETWORK_APPEARANCE, "network_appearance", _U32, False)
_INFO: Final = (TAG_INFO_STRING, "info_string", _TEXT, False)
_ASP_ID: Final = (TAG_ASP_IDENTIFIER, "asp_identifier", _U32, False)
_BEAT: Final = (TAG_HEARTBEAT_DATA, "data", _OPAQUE, False)
_TRAFFIC: Final = (TAG_TRAFFIC_MODE_TYPE, "traffic_mode", _U32, False)
_APC: Final = (TAG_AFFECTED_POINT_CODE, "affected_point_codes", _POINTS, False)
_ERROR_CODE: Final = (TAG_ERROR_CODE, "error_code", _U32, True)
_DIAGNOSTIC: Final = (TAG_DIAGNOSTIC_INFORMATION, "diagnostic", _OPAQUE, False)
_STATUS: Final = (TAG_STATUS, "status_type/status_info", _PAIR, True)
_USER_CAUSE: Final = (TAG_USER_CAUSE, "unavailability_cause/user_identity", _PAIR, False)

# Every message but DATA: its class, type and parameters in the order of the RFC's
# figures (Ssnm's type is its `message_type`).
_LAYOUTS: Final[dict[type, tuple[int, int, _Layout]]] = {
    Error: (CLASS_MGMT, 0, (_ERROR_CODE, _RC, _NA, _APC, _DIAGNOSTIC)),
    Notify: (CLASS_MGMT, 1, (_STATUS, _ASP_ID, _RC, _INFO)),
    Ssnm: (CLASS_SSNM, 0, (_NA, _RC, (*_APC[:3], True), _USER_CAUSE, _INFO)),
    AspUp: (CLASS_ASPSM, 1, (_ASP_ID, _INFO)),
    AspDown: (CLASS_ASPSM, 2, (_INFO,)),
    Beat: (CLASS_ASPSM, 3, (_BEAT,)),
    AspUpAck: (CLASS_ASPSM, 4, (_ASP_ID, _INFO)),
    AspDownAck: (CLASS_ASPSM, 5, (_INFO,)),
    BeatAck: (CLASS_ASPSM, 6, (_BEAT,)),
    AspActive: (CLASS_ASPTM, 1, (_TRAFFIC, _RC, _INFO)),
    AspInactive: (CLASS_ASPTM, 2, (_RC, _INFO)),
    AspActiveAck: (CLASS_ASPTM, 3, (_TRAFFIC, _RC, _INFO)),
    AspInactiveAck: (CLASS_ASPTM, 4, (_RC, _INFO)),
}


def _tlv(tag: int, value: bytes) -> bytes:
    """§3.2: tag, length (without padding), value, zero padding to 4 octets."""
    return _TL.pack(tag, 4 + len(value)) + value + _PAD[len(value) & 3]


def _u32(tag: int, value: int | None) -> bytes:
    return b"" if value is None else _TLV_U32.pack(tag, 8, value)


def _encode_parameter(message: Message, tag: int, field: str, kind: int) -> bytes:
    if kind == _PAIR:
        high, low = (getattr(message, name) for name in field.split("/"))
        if high is None and low is None:
            return b""
        return _TLV_U32.pack(tag, 8, ((high or 0) << 16) | (low or 0))
    value = getattr(message, field)
    if value is None or value == ():
        return b""
    if kind == _U32:
        return _TLV_U32.pack(tag, 8, value)
    if kind == _U32S:
        return _tlv(tag, struct.pack(f">{len(value)}I", *value))
    if kind == _TEXT:
        return _tlv(tag, value.encode())
    if kind == _POINTS:
        return _tlv(
            tag, b"".join(((a.mask << 24) | a.point_code).to_bytes(4, "big") for a in value)
        )
    return _tlv(tag, value)


def _message(message_class: int, message_type: int, body: bytes) -> bytes:
    return _HEADER.pack(VERSION, 0, message_class, message_type, HEADER_OCTETS + len(body)) + body


def _encode_data(m: Data) -> bytes:
    pd = m.protocol_data
    size = len(pd.data)
    body = b"".join(
        (
            _u32(TAG_NETWORK_APPEARANCE, m.network_appearance),
            _u32(TAG_ROUTING_CONTEXT, m.routing_context),
            _PROTOCOL_DATA.pack(
                TAG_PROTOCOL_DATA, 16 + size, pd.opc, pd.dpc, pd.si, pd.ni, pd.mp, pd.sls
            ),
            pd.data,
            _PAD[size & 3],
            _u32(TAG_CORRELATION_ID, m.correlation_id),
        )
    )
    return _message(CLASS_TRANSFER, 1, body)


def encode(message: Message) -> bytes:
    """The octets of one M3UA message, parameters in the order of the RFC's figures."""
    if isinstance(message, Data):
        return _encode_data(message)
    message_class, message_type, layout = _LAYOUTS[type(message)]
    if isinstance(message, Ssnm):
        message_type = message.message_type
    body = b"".join(_encode_parameter(message, *p[:3]) for p in layout)
    return _message(message_class, message_type, body)


# --- decoding ------------------------------------------------------------------

_Params: TypeAlias = dict[int, bytes]


def _field_error(tag: int, why: str) -> M3uaError:
    return M3uaError(ERROR_PARAMETER_FIELD_ERROR, f"parameter 0x{tag:04x}: {why}")


def _get_u32(params: _Params, tag: int) -> int | None:
    value = params.get(tag)
    if value is None:
        return None
    if len(value) != 4:
        raise _field_error(tag, f"{len(value)} octets, not 4")
    return int.from_bytes(value, "big")


def _decode_parameter(value: bytes, tag: int, kind: int) -> object:
    if kind == _OPAQUE:
        return value
    if kind == _TEXT:
        # The INFO String is for people only (§3.8.2): bad UTF-8 is replaced, not refused.
        return value.decode("utf-8", "replace")
    if kind in (_U32, _PAIR):
        if len(value) != 4:
            raise _field_error(tag, f"{len(value)} octets, not 4")
        return int.from_bytes(value, "big")
    if not value or len(value) & 3:
        raise _field_error(tag, f"{len(value)} octets, not a multiple of 4")
    values = struct.unpack(f">{len(value) >> 2}I", value)
    if kind == _U32S:
        return values
    return tuple(AffectedPointCode(v & 0xFFFFFF, v >> 24) for v in values)


def _decode_layout(cls: type, layout: _Layout, params: _Params, **fields: object) -> Message:
    for tag, field, kind, mandatory in layout:
        value = params.get(tag)
        if value is None:
            if mandatory:
                raise M3uaError(ERROR_MISSING_PARAMETER, f"parameter 0x{tag:04x} missing")
        elif kind == _PAIR:
            both = _decode_parameter(value, tag, kind)
            assert isinstance(both, int)
            high, low = field.split("/")
            fields[high] = both >> 16
            fields[low] = both & 0xFFFF
        else:
            fields[field] = _decode_parameter(value, tag, kind)
    message: Message = cls(**fields)
    return message


def _decode_data(params: _Params) -> Data:
    value = params.get(TAG_PROTOCOL_DATA)
    if value is None:
        raise M3uaError(ERROR_MISSING_PARAMETER, "DATA without Protocol Data")
    if len(value) < 12:
        raise _field_error(TAG_PROTOCOL_DATA, "shorter than the routing label fields")
    opc, dpc, si, ni, mp, sls = _ROUTING_LABEL.unpack_from(value)
    return Data(
        ProtocolData(opc, dpc, si, ni, mp, sls, value[12:]),
        _get_u32(params, TAG_ROUTING_CONTEXT),
        _get_u32(params, TAG_NETWORK_APPEARANCE),
        _get_u32(params, TAG_CORRELATION_ID),
    )


_BY_CLASS_AND_TYPE: Final[dict[tuple[int, int], tuple[type, _Layout]]] = {
    (c, t): (cls, layout) for cls, (c, t, layout) in _LAYOUTS.items() if cls is not Ssnm
}
_BY_CLASS_AND_TYPE.update(
    {(CLASS_SSNM, t): (Ssnm, _LAYOUTS[Ssnm][2]) for t in range(SSNM_DUNA, SSNM_DRST + 1)}
)
_KNOWN_CLASSES: Final = frozenset((CLASS_TRANSFER, *(c for c, _ in _BY_CLASS_AND_TYPE)))


def _parameters(data: bytes) -> _Params:
    params: _Params = {}
    pos = HEADER_OCTETS
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise M3uaError(ERROR_PARAMETER_FIELD_ERROR, "truncated parameter header")
        tag, length = _TL.unpack_from(data, pos)
        if length < 4 or pos + length > end:
            raise _field_error(tag, f"length {length} does not fit the message")
        params[tag] = data[pos + 4 : pos + length]
        pos += (length + 3) & ~3
    return params


def decode(data: bytes | bytearray | memoryview) -> Message:
    """Read one whole M3UA message (as `StreamFramer` returns them)."""
    if not isinstance(data, bytes):
        data = bytes(data)
    if len(data) < HEADER_OCTETS:
        raise M3uaError(ERROR_PROTOCOL_ERROR, "shorter than the common header")
    version, _, message_class, message_type, length = _HEADER.unpack_from(data)
    if version != VERSION:
        raise M3uaError(ERROR_INVALID_VERSION, f"version {version}")
    if length != len(data):
        raise M3uaError(ERROR_PROTOCOL_ERROR, f"length field {length}, message {len(data)}")
    if message_class == CLASS_TRANSFER and message_type == 1:
        return _decode_data(_parameters(data))
    found = _BY_CLASS_AND_TYPE.get((message_class, message_type))
    if found is None:
        if message_class in _KNOWN_CLASSES:
            raise M3uaError(
                ERROR_UNSUPPORTED_MESSAGE_TYPE, f"message type {message_class}/{message_type}"
            )
        raise M3uaError(ERROR_UNSUPPORTED_MESSAGE_CLASS, f"message class {message_class}")
    cls, layout = found
    if cls is Ssnm:
        return _decode_layout(cls, layout, _parameters(data), message_type=message_type)
    return _decode_layout(cls, layout, _parameters(data))


def is_error_message(data: bytes) -> bool:
    """True when `data` has the header of an ERR (§3.8.1), whatever follows it.

    An ERR is never answered with an ERR, even one that does not decode.
    """
    return len(data) >= 4 and data[2] == CLASS_MGMT and data[3] == 0


class StreamFramer:
    """Whole M3UA messages out of a byte stream (M3UA over TCP), by the header length.

    A length below 8 or above `max_octets` raises M3uaError (protocol error):
    the stream cannot be resynchronised, so the connection must be closed; the
    framer keeps refusing after that.
    """

    def __init__(self, max_octets: int = MAX_MESSAGE_OCTETS) -> None:
        self._buffer = bytearray()
        self._max = max_octets
        self._broken: M3uaError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken is not None:
            raise self._broken
        buffer = self._buffer
        if buffer:
            buffer += data
            source: bytes | bytearray = buffer
        else:
            source = data
        messages: list[bytes] = []
        pos = 0
        end = len(source)
        while end - pos >= HEADER_OCTETS:
            length = int.from_bytes(source[pos + 4 : pos + 8], "big")
            if length < HEADER_OCTETS or length > self._max:
                self._broken = M3uaError(
                    ERROR_PROTOCOL_ERROR, f"message length {length} out of bounds"
                )
                raise self._broken
            if end - pos < length:
                break
            messages.append(bytes(source[pos : pos + length]))
            pos += length
        if source is buffer:
            del buffer[:pos]
        else:
            buffer += source[pos:]
        return messages

    @property
    def buffered(self) -> int:
        """Octets held back, waiting for the rest of a message."""
        return len(self._buffer)
