"""SCCP (ITU-T Q.713) codec: vectors, pycrate as the oracle both ways, the UDT/XUDT rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pycrate_mobile import SCCP as PycrateSccp

from numlookup.errors import CodecError
from numlookup.ss7 import sccp
from numlookup.ss7.sccp import (
    ExtendedUnitdata,
    ExtendedUnitdataService,
    SccpAddress,
    Segmentation,
    Unitdata,
    UnitdataService,
)

VECTORS = sorted((Path(__file__).parent.parent / "vectors" / "sccp").glob("*.hex"))
HLR = SccpAddress("46701234567", sccp.SSN_HLR)
GMSC = SccpAddress("46700000001", sccp.SSN_MSC)
TCAP = bytes.fromhex("620a4804000000016c02a100")


def vector(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


# --- pycrate, the oracle --------------------------------------------------------


def pycrate_decode(octets: bytes) -> Any:
    message, error = PycrateSccp.parse_SCCP(octets, w_scmg=False)
    assert error == 0, f"pycrate could not decode {octets.hex()}"
    return message


def pycrate_address(party: Any) -> tuple[Any, ...]:
    """(route_on_gt, gti, ssn, pc, tt, np, nai, digits) as pycrate reads them."""
    value = party["Value"]
    indicator = value["AddrInd"]
    gti = indicator["GTInd"].get_val()
    ssn = value["SSN"].get_val() if indicator["SSNInd"].get_val() else None
    pc = value["PC"].get_val() & 0x3FFF if indicator["PCInd"].get_val() else None
    tt = np = nai = digits = None
    if gti:
        gt = value["GT"].get_alt()
        tt = gt["TranslationType"].get_val() if gti in (2, 3, 4) else None
        np = gt["NumberingPlan"].get_val() if gti in (3, 4) else None
        nai = gt["NAI"].get_val() if gti in (1, 4) else None
        # pycrate gives GTI 2 as raw hex, the others as BCD signals with names
        # for the signals 10-15
        digits = gt.get_addr()
        for code, name in enumerate(PycrateSccp.SCCPBufBCD._chars[10:], 10):
            digits = digits.replace(name, f"{code:x}")
    return (indicator["RoutingInd"].get_val() == 0, gti, ssn, pc, tt, np, nai, digits)


def our_address(address: SccpAddress) -> tuple[Any, ...]:
    gti = 0 if address.digits is None else address.global_title_indicator
    digits = address.digits
    if gti == 2 and digits is not None:  # as raw octets, the way pycrate shows it
        digits = bytes.fromhex(digits).translate(sccp._SWAP_NIBBLES).hex()
    return (
        address.route_on_gt,
        gti,
        address.ssn,
        address.point_code,
        address.translation_type if gti in (2, 3, 4) else None,
        address.numbering_plan if gti in (3, 4) else None,
        address.nature_of_address if gti in (1, 4) else None,
        digits,
    )


def pycrate_view(octets: bytes) -> dict[str, Any]:
    m = pycrate_decode(octets)
    view: dict[str, Any] = {
        "type": m["Type"].get_val(),
        "called": pycrate_address(m["CalledPartyAddr"]),
        "calling": pycrate_address(m["CallingPartyAddr"]),
        "data": m["Data"]["Value"].get_val(),
    }
    if "ProtocolClass" in m._by_name:
        view["class"] = m["ProtocolClass"]["Class"].get_val()
        view["return_on_error"] = m["ProtocolClass"]["Handling"].get_val() == 8
    else:
        view["cause"] = m["RetCause"].get_val()
    if "HopCounter" in m._by_name:
        view["hop_counter"] = m["HopCounter"].get_val()
        importance = m["Opt"]["Importance"]
        view["importance"] = (
            None if importance.get_trans() else importance["Importance"]["Value"].get_val()
        )
        segment = m["Opt"]["Segmentation"]
        view["segmentation"] = (
            None
            if segment.get_trans()
            else (
                segment["Segmentation"]["F"].get_val() == 1,
                segment["Segmentation"]["C"].get_val() == 1,
                segment["Segmentation"]["RemainingSeg"].get_val(),
                segment["Segmentation"]["SegmentLocalRef"].get_val(),
            )
        )
    return view


def our_view(message: sccp.SccpMessage) -> dict[str, Any]:
    types = {
        Unitdata: 0x09,
        UnitdataService: 0x0A,
        ExtendedUnitdata: 0x11,
        ExtendedUnitdataService: 0x12,
    }
    view: dict[str, Any] = {
        "type": types[type(message)],
        "called": our_address(message.called),
        "calling": our_address(message.calling),
        "data": message.data,
    }
    if isinstance(message, Unitdata | ExtendedUnitdata):
        view["class"] = message.protocol_class
        view["return_on_error"] = message.return_on_error
    else:
        view["cause"] = message.cause
    if isinstance(message, ExtendedUnitdata | ExtendedUnitdataService):
        view["hop_counter"] = message.hop_counter
        view["importance"] = message.importance
        seg = message.segmentation
        view["segmentation"] = (
            None
            if seg is None
            else (seg.first_segment, seg.class_1, seg.remaining_segments, seg.local_reference)
        )
    return view


# --- vectors -------------------------------------------------------------------


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_decodes_and_reencodes_to_the_same_octets(path: Path) -> None:
    octets = vector(path)
    message = sccp.decode(octets)
    assert sccp.encode(message) == octets


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_reads_as_pycrate_reads_it(path: Path) -> None:
    octets = vector(path)
    assert our_view(sccp.decode(octets)) == pycrate_view(octets)


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_every_truncation_of_a_vector_is_refused(path: Path) -> None:
    octets = vector(path)
    whole = sccp.decode(octets)
    for end in range(len(octets)):
        if end == len(octets) - 1 and octets[-1] == 0 and octets[0] in (0x11, 0x12):
            # only the end-of-optional-parameters octet missing: tolerated (§2.4)
            assert sccp.decode(octets[:end]) == whole
            continue
        with pytest.raises(CodecError) as caught:
            sccp.decode(octets[:end])
        assert caught.value.layer == "sccp"


def test_vector_from_a_trace_has_the_expected_fields() -> None:
    message = sccp.decode(
        vector(VECTORS[[p.stem for p in VECTORS].index("udt_gti4_class1_osmocom")])
    )
    assert isinstance(message, Unitdata)
    assert message.protocol_class == 1 and message.return_on_error
    assert message.called == SccpAddress("3548900071", sccp.SSN_VLR)
    assert message.calling == SccpAddress("447802000256", sccp.SSN_HLR)
    assert len(message.data) == 154 and message.data[0] == 0x65  # TCAP Continue


@pytest.mark.parametrize(
    ("octets", "address"),
    [
        # osmocom/libosmo-sccp tests/xua/xua_test.c, addr_bin0..2
        ("92060012041999967639 98", SccpAddress("919969679389", 6, national_use=True)),
        ("12080012041989969299 29", SccpAddress("919869299992", 8)),
        ("42fe", SccpAddress(None, 254, route_on_gt=False)),
    ],
)
def test_addresses_from_osmocom(octets: str, address: SccpAddress) -> None:
    value = bytes.fromhex(octets.replace(" ", ""))
    assert sccp.decode_address(value) == address
    assert sccp.encode_address(address) == value


# --- our encodings, read by pycrate ----------------------------------------------

ADDRESSES = [
    HLR,
    GMSC,
    SccpAddress("4670123456", 6),  # even number of signals
    SccpAddress("1", 6),
    SccpAddress("", 6),
    SccpAddress("46701234567", 6, point_code=0x3FFF),
    SccpAddress("46701234567", None, translation_type=9, numbering_plan=7, nature_of_address=3),
    SccpAddress("4670123456", 7, global_title_indicator=3, numbering_plan=6),
    SccpAddress("46701234567", 8, point_code=1, global_title_indicator=1, nature_of_address=3),
    SccpAddress("46701234", 8, translation_type=3, global_title_indicator=2),
    SccpAddress(None, 6, point_code=1234, route_on_gt=False),
    SccpAddress(None, 146, route_on_gt=False),
    SccpAddress("123abc", 6),  # signals 10-15 kept as hex letters
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_address_round_trip(address: SccpAddress) -> None:
    assert sccp.decode_address(sccp.encode_address(address)) == address


@pytest.mark.parametrize("called", ADDRESSES)
def test_pycrate_reads_our_unitdata(called: SccpAddress) -> None:
    for message in (
        Unitdata(called, GMSC, TCAP),
        Unitdata(called, GMSC, TCAP, 1, True),
        UnitdataService(sccp.RETURN_CAUSE_SUBSYSTEM_FAILURE, GMSC, called, TCAP),
        ExtendedUnitdata(called, GMSC, TCAP, 1, False, 7),
        ExtendedUnitdata(called, GMSC, TCAP, importance=2),
        ExtendedUnitdata(called, GMSC, TCAP, segmentation=Segmentation(True, True, 3, 0x010203)),
        ExtendedUnitdataService(sccp.RETURN_CAUSE_HOP_COUNTER_VIOLATION, 0, called, GMSC, TCAP),
    ):
        octets = sccp.encode(message)
        assert pycrate_view(octets) == our_view(message), octets.hex()
        assert sccp.decode(octets) == message


def test_pycrate_reads_the_maximum_data() -> None:
    message = Unitdata(HLR, GMSC, bytes(range(255)))
    assert pycrate_view(sccp.encode(message))["data"] == message.data


# --- pycrate's encodings, read by us ----------------------------------------------


@pytest.mark.parametrize("gti", [0, 1, 3, 4])
@pytest.mark.parametrize("digits", ["46701234567", "4670123456"])
def test_we_read_pycrate_unitdata(gti: int, digits: str) -> None:
    m = PycrateSccp.SCCPUnitData()
    m["ProtocolClass"]["Class"].set_val(1)
    value = m["CalledPartyAddr"]["Value"]
    value["AddrInd"]["RoutingInd"].set_val(0 if gti else 1)
    value["AddrInd"]["GTInd"].set_val(gti)
    value["AddrInd"]["SSNInd"].set_val(1)
    value["AddrInd"]["PCInd"].set_val(1)
    value["PC"].set_val(4321)
    value["SSN"].set_val(6)
    if gti:
        gt = value["GT"].get_alt()
        if gti == 1:
            gt["NAI"].set_val(4)
            gt.set_addr(digits)
        else:
            gt["TranslationType"].set_val(0)
            gt["NumberingPlan"].set_val(1)
            if gti == 4:
                gt["NAI"].set_val(4)
            gt.set_addr_bcd(digits)
    m["CallingPartyAddr"]["Value"]["AddrInd"]["GTInd"].set_val(0)
    m["CallingPartyAddr"]["Value"]["AddrInd"]["RoutingInd"].set_val(1)
    m["CallingPartyAddr"]["Value"]["AddrInd"]["SSNInd"].set_val(1)
    m["CallingPartyAddr"]["Value"]["SSN"].set_val(8)
    m["Data"]["Value"].set_val(TCAP)
    octets = m.to_bytes()
    message = sccp.decode(octets)
    assert our_view(message) == pycrate_view(octets)
    assert message.called.digits == (digits if gti else None)
    assert message.called.point_code == 4321


# --- N-UNITDATA: UDT when it fits, else XUDT ----------------------------------------


def test_encode_unitdata_sends_a_udt_that_fits() -> None:
    octets = sccp.encode_unitdata(HLR, GMSC, TCAP, 1, True)
    assert octets[0] == sccp.MESSAGE_TYPE_UDT
    assert sccp.decode(octets) == Unitdata(HLR, GMSC, TCAP, 1, True)
    assert octets == sccp.encode(Unitdata(HLR, GMSC, TCAP, 1, True))


def test_encode_unitdata_switches_to_xudt_above_268_octets() -> None:
    addresses = len(sccp.encode_address(HLR)) + len(sccp.encode_address(GMSC))
    fits = bytes(sccp.MAX_UDT_OCTETS - 8 - addresses)
    udt = sccp.encode_unitdata(HLR, GMSC, fits)
    assert len(udt) == sccp.MAX_UDT_OCTETS and udt[0] == sccp.MESSAGE_TYPE_UDT
    xudt = sccp.encode_unitdata(HLR, GMSC, fits + b"\x00", 1, True)
    assert xudt[0] == sccp.MESSAGE_TYPE_XUDT
    message = sccp.decode(xudt)
    assert message == ExtendedUnitdata(HLR, GMSC, fits + b"\x00", 1, True, sccp.HOP_COUNTER_MAX)
    assert pycrate_view(xudt) == our_view(message)


def test_encode_unitdata_refuses_data_that_needs_segmentation() -> None:
    sccp.encode_unitdata(HLR, GMSC, bytes(255))
    with pytest.raises(ValueError, match="segmentation"):
        sccp.encode_unitdata(HLR, GMSC, bytes(256))


def test_encode_refuses_bad_digits() -> None:
    with pytest.raises(ValueError):
        sccp.encode_address(SccpAddress("4670 123", 6))
    with pytest.raises(ValueError):
        sccp.encode_address(SccpAddress("+4670123", 6))


# --- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "why"),
    [
        ("", "empty"),
        ("01", "not supported"),  # CR, connection-oriented
        ("13000f0700", "not supported"),  # LUDT
        ("090003", "fixed part"),
        # a good UDT is 09 00 03 05 07 | 02 4206 | 02 4208 | 03 aabbcc
        ("0900000507024206024208 03aabbcc", "zero"),
        ("0900ff0507024206024208 03aabbcc", "past the end"),
        ("0900030507024206024208 09aabbcc", "past the end"),
        ("0902030507024206024208 03aabbcc", "protocol class 2"),
        ("0900030305 00 024208 03aabbcc", "empty address"),
        ("0900030507025406024208 03aabbcc", "indicator 5"),
        ("0900030507024306024208 03aabbcc", "point code"),
        ("0900030406 0142 024208 03aabbcc", "subsystem"),
    ],
)
def test_malformed_messages_raise_codec_error(octets: str, why: str) -> None:
    with pytest.raises(CodecError, match=why) as caught:
        sccp.decode(bytes.fromhex(octets.replace(" ", "")))
    assert caught.value.layer == "sccp"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1206001304", "encoding scheme"),  # ES 3, national specific
        ("1206001004", "encoding scheme"),  # ES 0, unknown
        ("120600", "too short"),
        ("0606", "too short"),  # GTI 1 without its octet
        ("0a06", "too short"),  # GTI 2 without its translation type
    ],
)
def test_malformed_global_titles_raise_codec_error(value: str, why: str) -> None:
    with pytest.raises(CodecError, match=why):
        sccp.decode_address(bytes.fromhex(value))


def test_optional_part_is_checked() -> None:
    good = sccp.encode(ExtendedUnitdata(HLR, GMSC, TCAP, importance=1))
    assert good[-4:] == bytes((0x12, 1, 1, 0))
    with pytest.raises(CodecError, match="importance"):
        sccp.decode(good[:-4] + bytes((0x12, 2, 1, 1, 0)))
    with pytest.raises(CodecError, match="segmentation"):
        sccp.decode(good[:-4] + bytes((0x10, 3, 1, 1, 1, 0)))
    with pytest.raises(CodecError, match="runs past"):
        sccp.decode(good[:-4] + bytes((0x12, 5, 1)))
    # unknown optional parameters are skipped; a missing end octet is tolerated
    tolerated = sccp.decode(good[:-4] + bytes((0x13, 2, 9, 9, 0x12, 1, 3)))
    assert isinstance(tolerated, ExtendedUnitdata) and tolerated.importance == 3


def test_decode_accepts_bytearray_and_memoryview() -> None:
    octets = sccp.encode(Unitdata(HLR, GMSC, TCAP))
    assert sccp.decode(bytearray(octets)) == sccp.decode(octets)
    assert sccp.decode(memoryview(octets)).data == TCAP
    assert type(sccp.decode(bytearray(octets)).data) is bytes
