"""3GPP TS 29.002 MAP: SendRoutingInfoForSM, its argument, result and errors.

Sans-IO. Arguments and results are encoded and decoded as whole TLVs, the
`parameter` of a TCAP component (see `numlookup.ss7.tcap`). Decoders accept and
skip extension fields they do not know (TS 29.002 §17.1.2: the `...` marks of
the MAP modules) and raise only `CodecError("map", ...)`; encoders raise it too
for arguments that cannot be encoded (a digit that is not TBCD, a long number).

Numbers are strings of TBCD digits (§17.7.8 TBCD-STRING): "0"-"9", and in
AddressString also "*", "#", "a", "b", "c".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from numlookup.errors import CodecError
from numlookup.ss7 import ber

LAYER = "map"

_read_tlv = ber.read_tlv

# §17.5 MAP-Protocol: operation code of sendRoutingInfoForSM.
SEND_ROUTING_INFO_FOR_SM = 45

# §17.3.3 application context names: shortMsgGatewayContext v3 and v2.
SHORT_MSG_GATEWAY_CONTEXT_V3 = (0, 4, 0, 0, 1, 0, 20, 3)
SHORT_MSG_GATEWAY_CONTEXT_V2 = (0, 4, 0, 0, 1, 0, 20, 2)

# §17.7.8 AddressString first octet: extension bit 1, nature of address
# international number (001), numbering plan ISDN/telephony E.164 (0001).
INTERNATIONAL_E164 = 0x91


class MapError(IntEnum):
    """§17.6.6 (MAP-Errors) local error codes that SendRoutingInfoForSM can return (§12.1)."""

    UNKNOWN_SUBSCRIBER = 1
    ABSENT_SUBSCRIBER_SM = 6
    TELESERVICE_NOT_PROVISIONED = 11
    CALL_BARRED = 13
    FACILITY_NOT_SUPPORTED = 21
    ABSENT_SUBSCRIBER = 27
    SYSTEM_FAILURE = 34
    DATA_MISSING = 35
    UNEXPECTED_DATA_VALUE = 36


@dataclass(frozen=True, slots=True)
class RoutingInfoForSmArg:
    """§17.7.6 RoutingInfoForSM-Arg, the fields an HLR needs here."""

    msisdn: str
    sm_rp_pri: bool
    service_centre_address: str
    gprs_support_indicator: bool = False


@dataclass(frozen=True, slots=True)
class RoutingInfoForSmRes:
    """§17.7.6 RoutingInfoForSM-Res with its LocationInfoWithLMSI."""

    imsi: str
    network_node_number: str | None
    lmsi: bytes | None = None
    gprs_node_indicator: bool = False
    additional_number: str | None = None


# --- TBCD (§17.7.8) ----------------------------------------------------------------

# Swap the two nibbles of every octet: TBCD puts the first digit in bits 4-1.
_SWAP_NIBBLES = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))
_TO_HEX = str.maketrans("*#abcABC", "abcdeCDE")
_FROM_HEX = str.maketrans("abcde", "*#abc")
_TBCD_DIGITS = frozenset("0123456789*#abcABC")


def encode_tbcd(digits: str) -> bytes:
    """TBCD-STRING: two digits per octet, first in the low nibble, filler 0xF."""
    if not (digits.isdecimal() and digits.isascii()):
        if not _TBCD_DIGITS.issuperset(digits):
            raise CodecError(LAYER, f"not TBCD digits: {digits!r}")
        digits = digits.translate(_TO_HEX)
    if len(digits) % 2:
        digits += "f"
    return bytes.fromhex(digits).translate(_SWAP_NIBBLES)


def decode_tbcd(data: bytes) -> str:
    """The digits of a TBCD-STRING; one filler 0xF is allowed, in the last nibble."""
    text = data.translate(_SWAP_NIBBLES).hex()
    if text[-1:] == "f":
        text = text[:-1]
    if text.isdigit():
        return text
    if "f" in text:
        raise CodecError(LAYER, "TBCD filler before the last digit")
    return text.translate(_FROM_HEX)


def encode_address(digits: str, nature: int = INTERNATIONAL_E164) -> bytes:
    """AddressString contents (§17.7.8): nature of address and numbering plan, then TBCD."""
    if not 1 <= len(digits) <= 38:  # SIZE (1..maxAddressLength = 20) octets
        raise CodecError(LAYER, f"an address of {len(digits)} digits")
    return bytes((nature,)) + encode_tbcd(digits)


def decode_address(data: bytes) -> str:
    """The digits of an AddressString or ISDN-AddressString (§17.7.8).

    The first octet (extension bit, nature of address, numbering plan) is not
    checked: numbers are read whatever their nature."""
    if not 1 <= len(data) <= 20:
        raise CodecError(LAYER, f"an address of {len(data)} octets")
    return decode_tbcd(data[1:])


def encode_imsi(imsi: str) -> bytes:
    """IMSI contents (§17.7.8: TBCD-STRING (SIZE (3..8)), digits only)."""
    if not imsi.isdigit() or not 5 <= len(imsi) <= 15 or not imsi.isascii():
        raise CodecError(LAYER, f"not an IMSI: {imsi!r}")
    return encode_tbcd(imsi)


def decode_imsi(data: bytes) -> str:
    if not 3 <= len(data) <= 8:
        raise CodecError(LAYER, f"an IMSI of {len(data)} octets")
    digits = data.translate(_SWAP_NIBBLES).hex()
    if digits[-1] == "f":
        digits = digits[:-1]
    if not digits.isdigit():
        raise CodecError(LAYER, "an IMSI with a digit that is not decimal")
    return digits


# --- RoutingInfoForSM-Arg (§17.7.6, §12.1.2) --------------------------------------


def _isdn_address(tag: bytes, digits: str) -> bytes:
    content = encode_address(digits)
    if len(content) > 9:  # ISDN-AddressString ::= AddressString (SIZE (1..9))
        raise CodecError(LAYER, f"an ISDN address of {len(digits)} digits")
    return tag + bytes((len(content),)) + content


def encode_sri_sm_arg(msisdn: str, service_centre_address: str, sm_rp_pri: bool = True) -> bytes:
    """RoutingInfoForSM-Arg: msisdn [0], sm-RP-PRI [1], serviceCentreAddress [2]."""
    content = (
        _isdn_address(b"\x80", msisdn)
        + (b"\x81\x01\xff" if sm_rp_pri else b"\x81\x01\x00")
        + ber.tlv(b"\x82", encode_address(service_centre_address))
    )
    return ber.tlv(b"\x30", content)


def _sequence(data: bytes, what: str) -> list[tuple[int, int, int]]:
    tag, start, end = ber.read_single(data)
    if tag != ber.SEQUENCE:
        raise CodecError(LAYER, f"{what}: SEQUENCE expected, tag {tag:#x}")
    return ber.read_children(data, start, end)


def decode_sri_sm_arg(data: bytes) -> RoutingInfoForSmArg:
    """RoutingInfoForSM-Arg, v2 or v3; unknown and extension fields are skipped."""
    msisdn = sca = None
    sm_rp_pri: bool | None = None
    gprs_support_indicator = False
    for tag, start, stop in _sequence(data, "RoutingInfoForSM-Arg"):
        if tag == 0x80:  # msisdn [0] ISDN-AddressString
            msisdn = decode_address(data[start:stop])
        elif tag == 0x81:  # sm-RP-PRI [1] BOOLEAN
            sm_rp_pri = ber.read_boolean(data, start, stop)
        elif tag == 0x82:  # serviceCentreAddress [2] AddressString
            sca = decode_address(data[start:stop])
        elif tag == 0x87:  # gprsSupportIndicator [7] NULL
            ber.read_null(data, start, stop)
            gprs_support_indicator = True
    if msisdn is None or sm_rp_pri is None or sca is None:
        raise CodecError(LAYER, "RoutingInfoForSM-Arg without msisdn, sm-RP-PRI or SC address")
    return RoutingInfoForSmArg(msisdn, sm_rp_pri, sca, gprs_support_indicator)


# --- RoutingInfoForSM-Res (§17.7.6, §12.1.3) --------------------------------------


def encode_sri_sm_res(imsi: str, network_node_number: str, lmsi: bytes | None = None) -> bytes:
    """RoutingInfoForSM-Res: imsi, locationInfoWithLMSI [0] { networkNode-Number [1], lmsi }."""
    location = _isdn_address(b"\x81", network_node_number)
    if lmsi is not None:
        if len(lmsi) != 4:  # LMSI ::= OCTET STRING (SIZE (4))
            raise CodecError(LAYER, f"an LMSI of {len(lmsi)} octets")
        location += b"\x04\x04" + lmsi
    imsi_tlv = ber.tlv(b"\x04", encode_imsi(imsi))
    return ber.tlv(b"\x30", imsi_tlv + ber.tlv(b"\xa0", location))


def decode_sri_sm_res(data: bytes) -> RoutingInfoForSmRes:
    """RoutingInfoForSM-Res of MAP v3 or v2 (whose LocationInfo msc-Number is also [1])."""
    tag, pos, end = ber.read_single(data)
    if tag != ber.SEQUENCE:
        raise CodecError(LAYER, f"RoutingInfoForSM-Res: SEQUENCE expected, tag {tag:#x}")
    imsi = None
    location_start = location_end = -1
    while pos < end:
        tag, start, pos = _read_tlv(data, pos, end)
        if tag == ber.OCTET_STRING and imsi is None:  # imsi IMSI
            imsi = decode_imsi(data[start:pos])
        elif tag == 0xA0:  # locationInfoWithLMSI [0] LocationInfoWithLMSI
            location_start, location_end = start, pos
    if imsi is None or location_start < 0:
        raise CodecError(LAYER, "RoutingInfoForSM-Res without imsi or locationInfoWithLMSI")
    node = additional = lmsi = None
    gprs_node_indicator = False
    pos = location_start
    while pos < location_end:
        tag, start, pos = _read_tlv(data, pos, location_end)
        if tag == 0x81:  # networkNode-Number [1] (v2: locationInfo msc-Number [1])
            node = decode_address(data[start:pos])
        elif tag == ber.OCTET_STRING:  # lmsi LMSI
            if pos - start != 4:
                raise CodecError(LAYER, f"an LMSI of {pos - start} octets")
            lmsi = data[start:pos]
        elif tag == 0x85:  # gprsNodeIndicator [5] NULL
            ber.read_null(data, start, pos)
            gprs_node_indicator = True
        elif tag == 0xA6:  # additional-Number [6] CHOICE { msc-Number [0], sgsn-Number [1] }
            choice, cstart, cstop = ber.read_single(data, start, pos)
            if choice not in (0x80, 0x81):
                raise CodecError(LAYER, f"additional-Number alternative {choice:#x}")
            additional = decode_address(data[cstart:cstop])
    return RoutingInfoForSmRes(imsi, node, lmsi, gprs_node_indicator, additional)


def map_error(error_code: int) -> MapError | None:
    """The MapError for a ReturnError's local error code, or None for another code."""
    try:
        return MapError(error_code)
    except ValueError:
        return None
