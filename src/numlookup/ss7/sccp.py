"""SCCP connectionless messages, ITU-T Q.713 (03/2001): UDT, UDTS, XUDT and XUDTS.

Sans-IO: `encode(message) -> bytes` and `decode(bytes) -> message` over frozen
dataclasses. `decode` raises only `CodecError("sccp", ...)`, whatever the input.
Encoders trust their input (a value out of range raises ValueError).

Addresses (§3.4) are ITU: a 14-bit signalling point code in two octets, least
significant first. Global titles are read with GTI 1, 2, 3 or 4 and written
with the one the address names (GTI 4 by default, §3.4.2.3.4); the address
signals are BCD, two per octet, the first in the low nibble, with the filler
0000 after an odd last signal (§3.4.2.3.1). Signals 10-15 are kept as the hex
letters a-f, so any global title survives decode and re-encode.

UDT or XUDT (`encode_unitdata`): a UDT's data parameter has a one-octet length
(at most 255 octets), and a whole UDT has to fit in an MTP3 signalling
information field of 272 octets (Q.703 §2.3.8) less the ITU routing label of 4
(Q.704 §2.2), so 268 octets with both addresses. A message that fits is sent
as UDT; otherwise as an unsegmented XUDT (Q.713 §4.18), which M3UA carries
whole (RFC 4666 lengths are 32-bit). More than 255 octets of data would need
XUDT segmentation (Q.714 §4.1.1.2) or LUDT, which this module does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from numlookup.errors import CodecError

# §4.2 message type codes
MESSAGE_TYPE_UDT: Final = 0x09
MESSAGE_TYPE_UDTS: Final = 0x0A
MESSAGE_TYPE_XUDT: Final = 0x11
MESSAGE_TYPE_XUDTS: Final = 0x12

# §3.4.2.3 global title indicator
GTI_NONE: Final = 0
GTI_NAI: Final = 1
GTI_TT: Final = 2
GTI_TT_NP_ES: Final = 3
GTI_TT_NP_ES_NAI: Final = 4

# §3.4.2.3.3 numbering plan; §3.4.2.3.1 nature of address indicator
NUMBERING_PLAN_E164: Final = 1
NUMBERING_PLAN_E212: Final = 6
NUMBERING_PLAN_E214: Final = 7
NATURE_OF_ADDRESS_UNKNOWN: Final = 0
NATURE_OF_ADDRESS_NATIONAL: Final = 3
NATURE_OF_ADDRESS_INTERNATIONAL: Final = 4

# §3.4.2.2 subsystem numbers used here (and 3GPP TS 23.003 §8.1)
SSN_HLR: Final = 6
SSN_VLR: Final = 7
SSN_MSC: Final = 8

# §3.12 return cause values (UDTS, XUDTS)
RETURN_CAUSE_NO_TRANSLATION_FOR_NATURE: Final = 0
RETURN_CAUSE_NO_TRANSLATION_FOR_ADDRESS: Final = 1
RETURN_CAUSE_SUBSYSTEM_CONGESTION: Final = 2
RETURN_CAUSE_SUBSYSTEM_FAILURE: Final = 3
RETURN_CAUSE_UNEQUIPPED_USER: Final = 4
RETURN_CAUSE_MTP_FAILURE: Final = 5
RETURN_CAUSE_NETWORK_CONGESTION: Final = 6
RETURN_CAUSE_UNQUALIFIED: Final = 7
RETURN_CAUSE_ERROR_IN_MESSAGE_TRANSPORT: Final = 8
RETURN_CAUSE_ERROR_IN_LOCAL_PROCESSING: Final = 9
RETURN_CAUSE_DESTINATION_CANNOT_PERFORM_REASSEMBLY: Final = 10
RETURN_CAUSE_SCCP_FAILURE: Final = 11
RETURN_CAUSE_HOP_COUNTER_VIOLATION: Final = 12
RETURN_CAUSE_SEGMENTATION_NOT_SUPPORTED: Final = 13
RETURN_CAUSE_SEGMENTATION_FAILURE: Final = 14

# §3.18: the hop counter starts at 15 or less.
HOP_COUNTER_MAX: Final = 15
# The largest UDT sent (see the module docstring): 272-octet SIF less 4-octet label.
MAX_UDT_OCTETS: Final = 268
MAX_DATA_OCTETS: Final = 255

# §3.6: message handling "return message on error" (bit 8) with class 0 or 1.
_RETURN_ON_ERROR: Final = 0x80
# §3.1, §3.17, §3.19 optional parameter names
_PARAM_END: Final = 0x00
_PARAM_SEGMENTATION: Final = 0x10
_PARAM_IMPORTANCE: Final = 0x12

_LAYER: Final = "sccp"
# Swap the two nibbles of every octet: BCD with the first signal in the low nibble
# becomes plain hex, and back.
_SWAP_NIBBLES: Final = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))
_HEX_SIGNALS: Final = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class SccpAddress:
    """Called or calling party address, Q.713 §3.4 (ITU, 14-bit point code).

    `digits` None means no global title (route on SSN); `global_title_indicator`
    says which GT format is written when digits are present. Fields a GTI does
    not carry keep their defaults and are not written. `national_use` is bit 8
    of the address indicator, reserved for national use (§3.4.1), kept as read.
    """

    digits: str | None
    ssn: int | None
    point_code: int | None = None
    translation_type: int = 0
    numbering_plan: int = NUMBERING_PLAN_E164
    nature_of_address: int = NATURE_OF_ADDRESS_INTERNATIONAL
    route_on_gt: bool = True
    global_title_indicator: int = GTI_TT_NP_ES_NAI
    national_use: bool = False


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Segmentation parameter, §3.17 (read and written, never acted upon here)."""

    first_segment: bool
    class_1: bool
    remaining_segments: int
    local_reference: int


@dataclass(frozen=True, slots=True)
class Unitdata:
    """UDT, §4.10."""

    called: SccpAddress
    calling: SccpAddress
    data: bytes
    protocol_class: int = 0
    return_on_error: bool = False


@dataclass(frozen=True, slots=True)
class UnitdataService:
    """UDTS, §4.11: a UDT returned with the reason (`cause`, §3.12)."""

    cause: int
    called: SccpAddress
    calling: SccpAddress
    data: bytes


@dataclass(frozen=True, slots=True)
class ExtendedUnitdata:
    """XUDT, §4.18."""

    called: SccpAddress
    calling: SccpAddress
    data: bytes
    protocol_class: int = 0
    return_on_error: bool = False
    hop_counter: int = HOP_COUNTER_MAX
    segmentation: Segmentation | None = None
    importance: int | None = None


@dataclass(frozen=True, slots=True)
class ExtendedUnitdataService:
    """XUDTS, §4.19."""

    cause: int
    hop_counter: int
    called: SccpAddress
    calling: SccpAddress
    data: bytes
    segmentation: Segmentation | None = None
    importance: int | None = None


SccpMessage: TypeAlias = Unitdata | UnitdataService | ExtendedUnitdata | ExtendedUnitdataService


# --- addresses, §3.4 -----------------------------------------------------------


def _bcd(digits: str) -> bytes:
    if not _HEX_SIGNALS.issuperset(digits):
        raise ValueError(f"global title digits must be 0-9 or a-f: {digits!r}")
    if len(digits) & 1:
        digits += "0"  # §3.4.2.3.1: filler 0000 after an odd last signal
    return bytes.fromhex(digits).translate(_SWAP_NIBBLES)


def encode_address(address: SccpAddress) -> bytes:
    """The value of a called/calling party address parameter (§3.4), no length octet."""
    indicator = 0 if address.route_on_gt else 0x40  # §3.4.1 bit 7, routing indicator
    if address.national_use:
        indicator |= 0x80
    head = b""
    if address.point_code is not None:
        indicator |= 0x01
        head = address.point_code.to_bytes(2, "little")
    if address.ssn is not None:
        indicator |= 0x02
        head += bytes((address.ssn,))
    digits = address.digits
    if digits is None:
        return bytes((indicator,)) + head
    gti = address.global_title_indicator
    odd = len(digits) & 1
    if gti == GTI_TT_NP_ES_NAI:  # §3.4.2.3.4
        gt = bytes(
            (
                address.translation_type,
                (address.numbering_plan << 4) | (1 if odd else 2),
                address.nature_of_address,
            )
        )
    elif gti == GTI_TT_NP_ES:  # §3.4.2.3.3
        gt = bytes((address.translation_type, (address.numbering_plan << 4) | (1 if odd else 2)))
    elif gti == GTI_TT:  # §3.4.2.3.2
        gt = bytes((address.translation_type,))
    elif gti == GTI_NAI:  # §3.4.2.3.1
        gt = bytes(((0x80 if odd else 0) | address.nature_of_address,))
    else:
        raise ValueError(f"global title indicator {gti} is not written")
    return bytes((indicator | (gti << 2),)) + head + gt + _bcd(digits)


def _signals(octets: bytes, odd: bool) -> str:
    text = octets.translate(_SWAP_NIBBLES).hex()
    return text[:-1] if odd and text else text


def decode_address(value: bytes) -> SccpAddress:
    """Read a called/calling party address parameter value (§3.4)."""
    if not value:
        raise CodecError(_LAYER, "empty address")
    indicator = value[0]
    pos = 1
    point_code = ssn = None
    if indicator & 0x01:
        if len(value) < 3:
            raise CodecError(_LAYER, "address too short for its point code")
        point_code = (value[1] | (value[2] << 8)) & 0x3FFF
        pos = 3
    if indicator & 0x02:
        if len(value) <= pos:
            raise CodecError(_LAYER, "address too short for its subsystem number")
        ssn = value[pos]
        pos += 1
    route_on_gt = not indicator & 0x40
    gti = (indicator >> 2) & 0x0F
    if gti == GTI_NONE:
        return SccpAddress(
            None, ssn, point_code, route_on_gt=route_on_gt, national_use=indicator > 0x7F
        )
    tt = 0
    plan = NUMBERING_PLAN_E164
    nature = NATURE_OF_ADDRESS_INTERNATIONAL
    if gti in (GTI_TT_NP_ES_NAI, GTI_TT_NP_ES):
        fixed = 3 if gti == GTI_TT_NP_ES_NAI else 2
        if len(value) < pos + fixed:
            raise CodecError(_LAYER, "global title too short")
        tt = value[pos]
        plan = value[pos + 1] >> 4
        scheme = value[pos + 1] & 0x0F
        if scheme not in (1, 2):  # §3.4.2.3.3: 1 BCD odd, 2 BCD even
            raise CodecError(_LAYER, f"global title encoding scheme {scheme} not supported")
        odd = scheme == 1
        if gti == GTI_TT_NP_ES_NAI:
            nature = value[pos + 2] & 0x7F
        pos += fixed
    elif gti == GTI_NAI:
        if len(value) <= pos:
            raise CodecError(_LAYER, "global title too short")
        odd = bool(value[pos] & 0x80)
        nature = value[pos] & 0x7F
        pos += 1
    elif gti == GTI_TT:
        # §3.4.2.3.2 carries no odd/even indication: every nibble is a signal.
        if len(value) <= pos:
            raise CodecError(_LAYER, "global title too short")
        tt = value[pos]
        odd = False
        pos += 1
    else:
        raise CodecError(_LAYER, f"global title indicator {gti} not supported")
    digits = _signals(value[pos:], odd)
    return SccpAddress(
        digits, ssn, point_code, tt, plan, nature, route_on_gt, gti, indicator > 0x7F
    )


# --- messages, §4 ----------------------------------------------------------------


def _protocol_class(protocol_class: int, return_on_error: bool) -> int:
    return (_RETURN_ON_ERROR if return_on_error else 0) | protocol_class


def _optional_part(segmentation: Segmentation | None, importance: int | None) -> bytes:
    part = b""
    if segmentation is not None:  # §3.17
        first = (
            (0x80 if segmentation.first_segment else 0)
            | (0x40 if segmentation.class_1 else 0)
            | segmentation.remaining_segments
        )
        part += bytes((_PARAM_SEGMENTATION, 4, first)) + segmentation.local_reference.to_bytes(
            3, "big"
        )
    if importance is not None:  # §3.19
        part += bytes((_PARAM_IMPORTANCE, 1, importance))
    return part + b"\x00" if part else b""


def _three_pointers(head: bytes, called: bytes, calling: bytes, data: bytes) -> bytes:
    # §2.3: each pointer counts octets from itself to its parameter's length octet.
    lc = len(called)
    lg = len(calling)
    return b"".join(
        (
            head,
            bytes((3, 3 + lc, 3 + lc + lg, lc)),
            called,
            bytes((lg,)),
            calling,
            bytes((len(data),)),
            data,
        )
    )


def _four_pointers(head: bytes, called: bytes, calling: bytes, data: bytes, opt: bytes) -> bytes:
    lc = len(called)
    lg = len(calling)
    ld = len(data)
    optional_pointer = 4 + lc + lg + ld if opt else 0
    return b"".join(
        (
            head,
            bytes((4, 4 + lc, 4 + lc + lg, optional_pointer, lc)),
            called,
            bytes((lg,)),
            calling,
            bytes((ld,)),
            data,
            opt,
        )
    )


def encode(message: SccpMessage) -> bytes:
    """The octets of one SCCP message."""
    called = encode_address(message.called)
    calling = encode_address(message.calling)
    if isinstance(message, Unitdata):
        head = bytes(
            (MESSAGE_TYPE_UDT, _protocol_class(message.protocol_class, message.return_on_error))
        )
        return _three_pointers(head, called, calling, message.data)
    if isinstance(message, UnitdataService):
        return _three_pointers(
            bytes((MESSAGE_TYPE_UDTS, message.cause)), called, calling, message.data
        )
    if isinstance(message, ExtendedUnitdata):
        head = bytes(
            (
                MESSAGE_TYPE_XUDT,
                _protocol_class(message.protocol_class, message.return_on_error),
                message.hop_counter,
            )
        )
        opt = _optional_part(message.segmentation, message.importance)
        return _four_pointers(head, called, calling, message.data, opt)
    head = bytes((MESSAGE_TYPE_XUDTS, message.cause, message.hop_counter))
    opt = _optional_part(message.segmentation, message.importance)
    return _four_pointers(head, called, calling, message.data, opt)


def encode_unitdata(
    called: SccpAddress,
    calling: SccpAddress,
    data: bytes,
    protocol_class: int = 0,
    return_on_error: bool = False,
) -> bytes:
    """N-UNITDATA request: a UDT when it fits in 268 octets, else an XUDT (module docstring)."""
    if len(data) > MAX_DATA_OCTETS:
        raise ValueError(f"{len(data)} octets of data need segmentation, which is not supported")
    called_octets = encode_address(called)
    calling_octets = encode_address(calling)
    pclass = _protocol_class(protocol_class, return_on_error)
    # 5 fixed octets (type, class, 3 pointers) and 3 length octets
    if 8 + len(called_octets) + len(calling_octets) + len(data) <= MAX_UDT_OCTETS:
        head = bytes((MESSAGE_TYPE_UDT, pclass))
        return _three_pointers(head, called_octets, calling_octets, data)
    head = bytes((MESSAGE_TYPE_XUDT, pclass, HOP_COUNTER_MAX))
    return _four_pointers(head, called_octets, calling_octets, data, b"")


def _variable(data: bytes, at: int) -> bytes:
    """The mandatory variable parameter whose pointer is at offset `at` (§2.3)."""
    pointer = data[at]
    if pointer == 0:
        raise CodecError(_LAYER, f"pointer at octet {at} is zero")
    start = at + pointer
    if start >= len(data):
        raise CodecError(_LAYER, f"pointer at octet {at} points past the end")
    end = start + 1 + data[start]
    if end > len(data):
        raise CodecError(_LAYER, f"parameter at octet {start} runs past the end")
    return data[start + 1 : end]


def _optional(data: bytes, at: int) -> tuple[Segmentation | None, int | None]:
    """Segmentation and importance from the optional part (§2.4); others are skipped."""
    pointer = data[at]
    if pointer == 0:
        return None, None
    pos = at + pointer
    end = len(data)
    if pos >= end:
        raise CodecError(_LAYER, "optional part pointer points past the end")
    segmentation = importance = None
    while pos < end:
        name = data[pos]
        if name == _PARAM_END:
            break
        if pos + 2 > end or pos + 2 + data[pos + 1] > end:
            raise CodecError(_LAYER, f"optional parameter {name} runs past the end")
        length = data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if name == _PARAM_SEGMENTATION:
            if length != 4:
                raise CodecError(_LAYER, "segmentation parameter is not 4 octets")
            segmentation = Segmentation(
                bool(value[0] & 0x80),
                bool(value[0] & 0x40),
                value[0] & 0x0F,
                int.from_bytes(value[1:4], "big"),
            )
        elif name == _PARAM_IMPORTANCE:
            if length != 1:
                raise CodecError(_LAYER, "importance parameter is not 1 octet")
            importance = value[0] & 0x07
        pos += 2 + length
    return segmentation, importance


def _class_octet(octet: int) -> tuple[int, bool]:
    protocol_class = octet & 0x0F
    if protocol_class > 1:
        raise CodecError(_LAYER, f"protocol class {protocol_class} in a connectionless message")
    return protocol_class, bool(octet & _RETURN_ON_ERROR)


def decode(data: bytes | bytearray | memoryview) -> SccpMessage:
    """Read one UDT, UDTS, XUDT or XUDTS."""
    if not isinstance(data, bytes):
        data = bytes(data)
    size = len(data)
    if size == 0:
        raise CodecError(_LAYER, "empty message")
    message_type = data[0]
    if message_type in (MESSAGE_TYPE_UDT, MESSAGE_TYPE_UDTS):
        if size < 5:
            raise CodecError(_LAYER, "message shorter than its fixed part")
        called = decode_address(_variable(data, 2))
        calling = decode_address(_variable(data, 3))
        user_data = _variable(data, 4)
        if message_type == MESSAGE_TYPE_UDTS:
            return UnitdataService(data[1], called, calling, user_data)
        protocol_class, return_on_error = _class_octet(data[1])
        return Unitdata(called, calling, user_data, protocol_class, return_on_error)
    if message_type in (MESSAGE_TYPE_XUDT, MESSAGE_TYPE_XUDTS):
        if size < 7:
            raise CodecError(_LAYER, "message shorter than its fixed part")
        called = decode_address(_variable(data, 3))
        calling = decode_address(_variable(data, 4))
        user_data = _variable(data, 5)
        segmentation, importance = _optional(data, 6)
        if message_type == MESSAGE_TYPE_XUDTS:
            return ExtendedUnitdataService(
                data[1], data[2], called, calling, user_data, segmentation, importance
            )
        protocol_class, return_on_error = _class_octet(data[1])
        return ExtendedUnitdata(
            called,
            calling,
            user_data,
            protocol_class,
            return_on_error,
            data[2],
            segmentation,
            importance,
        )
    raise CodecError(_LAYER, f"message type 0x{message_type:02x} not supported")
