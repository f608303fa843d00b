"""M3UA (RFC 4666) codec and stream framer: vectors, pycrate both ways, error codes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pycrate_mobile import M3UA as PycrateM3ua

from numlookup.errors import CodecError
from numlookup.ss7 import m3ua
from numlookup.ss7.m3ua import (
    AffectedPointCode,
    AspActive,
    AspActiveAck,
    AspDown,
    AspDownAck,
    AspInactive,
    AspInactiveAck,
    AspUp,
    AspUpAck,
    Beat,
    BeatAck,
    Data,
    Error,
    M3uaError,
    Notify,
    ProtocolData,
    Ssnm,
    StreamFramer,
)

FOLDER = Path(__file__).parent.parent / "vectors" / "m3ua"
VECTORS = sorted(p for p in FOLDER.glob("*.hex") if not p.stem.startswith("refused_"))
REFUSED = {"refused_rkm_reg_req_osmocom": m3ua.ERROR_UNSUPPORTED_MESSAGE_CLASS}
UDT = bytes.fromhex((FOLDER.parent / "sccp" / "udt_gti4_pycrate.hex").read_text().strip())
PD = ProtocolData(0x1234, 0x3FFF, m3ua.SI_SCCP, m3ua.NI_NATIONAL, 0, 15, UDT)


def vector(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


# One of every kind, with and without the optional parameters.
MESSAGES: list[m3ua.Message] = [
    Data(PD),
    Data(PD, routing_context=7),
    Data(PD, 7, 1, 0xFFFFFFFF),
    Data(ProtocolData(1, 2, 3, 0, 0, 0, b"")),
    Data(ProtocolData(1, 2, 3, 0, 0, 0, b"x")),
    Error(m3ua.ERROR_UNEXPECTED_MESSAGE),
    Error(m3ua.ERROR_PROTOCOL_ERROR, b"\x01\x00\x01", (1, 2), 3, (AffectedPointCode(77, 8),)),
    Notify(m3ua.STATUS_AS_STATE_CHANGE, m3ua.AS_ACTIVE),
    Notify(m3ua.STATUS_OTHER, m3ua.OTHER_ALTERNATE_ASP_ACTIVE, 9, (1,), "alternate"),
    Ssnm(m3ua.SSNM_DUNA, (AffectedPointCode(100),)),
    Ssnm(
        m3ua.SSNM_DAVA,
        (AffectedPointCode(100), AffectedPointCode(0x400, 8)),
        1,
        (2, 3),
        info_string="ok",
    ),
    Ssnm(m3ua.SSNM_DAUD, (AffectedPointCode(5),)),
    Ssnm(m3ua.SSNM_SCON, (AffectedPointCode(5),)),
    Ssnm(m3ua.SSNM_DUPU, (AffectedPointCode(5),), unavailability_cause=2, user_identity=3),
    Ssnm(m3ua.SSNM_DRST, (AffectedPointCode(5),)),
    AspUp(),
    AspUp(5, "numlookup"),
    AspUpAck(),
    AspUpAck(5, "ü"),
    AspDown(),
    AspDown("bye"),
    AspDownAck(),
    Beat(),
    Beat(b"\x00\x00\x00\x01"),
    Beat(b"abc"),
    BeatAck(b"abc"),
    AspActive(),
    AspActive(m3ua.TRAFFIC_MODE_LOADSHARE, (10, 11), "go"),
    AspActiveAck(m3ua.TRAFFIC_MODE_OVERRIDE, (10,)),
    AspInactive(),
    AspInactive((10,)),
    AspInactiveAck((10,), "x"),
]


# --- pycrate, the oracle --------------------------------------------------------


def pycrate_parameters(octets: bytes) -> tuple[int, int, dict[int, Any]]:
    message, error = PycrateM3ua.parse_M3UA(octets)
    assert error == 0, f"pycrate could not decode {octets.hex()}"
    header, params = message.get_val()
    values = {p[0]: p[2] for p in params}
    if isinstance(values.get(m3ua.TAG_USER_CAUSE), bytes):  # pycrate leaves it raw
        raw = values[m3ua.TAG_USER_CAUSE]
        values[m3ua.TAG_USER_CAUSE] = [
            int.from_bytes(raw[:2], "big"),
            int.from_bytes(raw[2:], "big"),
        ]
    return header[2], header[3], values


def our_parameters(message: m3ua.Message) -> tuple[int, int, dict[int, Any]]:
    """What pycrate should read: class, type and each parameter's value its way."""
    if isinstance(message, Data):
        pd = message.protocol_data
        params: dict[int, Any] = {
            m3ua.TAG_PROTOCOL_DATA: [pd.opc, pd.dpc, pd.si, pd.ni, pd.mp, pd.sls, pd.data]
        }
        if message.routing_context is not None:
            params[m3ua.TAG_ROUTING_CONTEXT] = [message.routing_context]
        if message.correlation_id is not None:
            params[m3ua.TAG_CORRELATION_ID] = message.correlation_id
        return 1, 1, params
    message_class, message_type, layout = m3ua._LAYOUTS[type(message)]
    if isinstance(message, Ssnm):
        message_type = message.message_type
    params = {}
    for tag, field, kind, _ in layout:
        if kind == m3ua._PAIR:
            high, low = (getattr(message, name) for name in field.split("/"))
            if high is not None or low is not None:
                params[tag] = [high or 0, low or 0]
            continue
        value = getattr(message, field)
        if value is None or value == ():
            continue
        if kind == m3ua._U32S:
            value = list(value)
        elif kind == m3ua._POINTS:
            value = [[a.mask, a.point_code] for a in value]
        params[tag] = value
    return message_class, message_type, params


def without_network_appearance(message: m3ua.Message) -> bool:
    # pycrate 0.8.1 declares Network Appearance as 8 bits (RFC 4666: 32)
    return getattr(message, "network_appearance", None) is None


# --- vectors -------------------------------------------------------------------


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_decodes_and_reencodes_to_the_same_octets(path: Path) -> None:
    octets = vector(path)
    assert m3ua.encode(m3ua.decode(octets)) == octets


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_reads_as_pycrate_reads_it(path: Path) -> None:
    message = m3ua.decode(vector(path))
    if without_network_appearance(message):
        assert pycrate_parameters(vector(path)) == our_parameters(message)


@pytest.mark.parametrize(("name", "code"), REFUSED.items())
def test_refused_vectors(name: str, code: int) -> None:
    with pytest.raises(M3uaError) as caught:
        m3ua.decode(vector(FOLDER / f"{name}.hex"))
    assert caught.value.error_code == code


def test_vectors_one_byte_at_a_time_through_the_framer() -> None:
    stream = b"".join(vector(p) for p in [*VECTORS, FOLDER / "refused_rkm_reg_req_osmocom.hex"])
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out += framer.feed(stream[i : i + 1])
    assert b"".join(out) == stream
    assert out[: len(VECTORS)] == [vector(p) for p in VECTORS]
    assert framer.buffered == 0


def test_vectors_in_random_chunks_through_the_framer() -> None:
    stream = b"".join(vector(p) for p in VECTORS) * 3
    rng = random.Random(4666)
    for _ in range(50):
        framer = StreamFramer()
        out: list[bytes] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(0, 200)
            out += framer.feed(stream[pos : pos + step])
            pos += step
        assert out == [vector(p) for p in VECTORS] * 3


def test_data_vector_fields() -> None:
    message = m3ua.decode(vector(FOLDER / "data_pycrate.hex"))
    assert message == Data(ProtocolData(1, 2, 3, 2, 0, 5, UDT), 7, None, 99)


# --- every kind: round trip, and pycrate reads ours ---------------------------------


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message: m3ua.Message) -> None:
    octets = m3ua.encode(message)
    assert len(octets) % 4 == 0
    assert int.from_bytes(octets[4:8], "big") == len(octets)
    assert m3ua.decode(octets) == message


@pytest.mark.parametrize(
    "message",
    [m for m in MESSAGES if without_network_appearance(m)],
    ids=lambda m: type(m).__name__,
)
def test_pycrate_reads_ours(message: m3ua.Message) -> None:
    assert pycrate_parameters(m3ua.encode(message)) == our_parameters(message)


@pytest.mark.parametrize(
    ("pycrate_class", "params", "expected"),
    [
        (PycrateM3ua.M3UA_ASPUp, [(0x11, 77)], AspUp(77)),
        (PycrateM3ua.M3UA_ASPActAck, [(0xB, 1), (6, [1, 2, 3])], AspActiveAck(1, (1, 2, 3))),
        (PycrateM3ua.M3UA_NTFY, [(0xD, [2, 3]), (4, "hello")], Notify(2, 3, info_string="hello")),
        (PycrateM3ua.M3UA_ERR, [(0xC, 0x19), (6, [4])], Error(0x19, routing_contexts=(4,))),
        (PycrateM3ua.M3UA_DUNA, [(0x12, [[0, 300]])], Ssnm(1, (AffectedPointCode(300),))),
        (PycrateM3ua.M3UA_BEATAck, [(9, b"12345")], BeatAck(b"12345")),
        (
            PycrateM3ua.M3UA_DATA,
            [(0x210, [10, 20, 3, 0, 0, 3, b"\x09\x00"]), (0x13, 5)],
            Data(ProtocolData(10, 20, 3, 0, 0, 3, b"\x09\x00"), correlation_id=5),
        ),
    ],
)
def test_we_read_pycrate(pycrate_class: Any, params: list[Any], expected: m3ua.Message) -> None:
    message = pycrate_class()
    message[1].set_val([{"Tag": tag, "Val": value} for tag, value in params])
    assert m3ua.decode(message.to_bytes()) == expected


# --- refusals and their error codes, RFC 4666 §3.8.1 ---------------------------------


def header(message_class: int, message_type: int, body: bytes = b"", version: int = 1) -> bytes:
    return (
        bytes((version, 0, message_class, message_type)) + (8 + len(body)).to_bytes(4, "big") + body
    )


@pytest.mark.parametrize(
    ("octets", "code"),
    [
        (b"", m3ua.ERROR_PROTOCOL_ERROR),
        (b"\x01\x00\x03\x01\x00\x00\x00", m3ua.ERROR_PROTOCOL_ERROR),
        (header(3, 1, version=2), m3ua.ERROR_INVALID_VERSION),
        (header(9, 1), m3ua.ERROR_UNSUPPORTED_MESSAGE_CLASS),  # RKM
        (header(5, 1), m3ua.ERROR_UNSUPPORTED_MESSAGE_CLASS),
        (header(3, 7), m3ua.ERROR_UNSUPPORTED_MESSAGE_TYPE),
        (header(1, 2), m3ua.ERROR_UNSUPPORTED_MESSAGE_TYPE),
        (header(2, 7), m3ua.ERROR_UNSUPPORTED_MESSAGE_TYPE),
        (header(0, 2), m3ua.ERROR_UNSUPPORTED_MESSAGE_TYPE),  # TEI status, IUA only
        (header(3, 1) + b"\x00\x00\x00\x00", m3ua.ERROR_PROTOCOL_ERROR),  # length < size
        (header(3, 1)[:7] + b"\x04", m3ua.ERROR_PROTOCOL_ERROR),  # length below the header
        (header(1, 1), m3ua.ERROR_MISSING_PARAMETER),  # DATA without Protocol Data
        (header(0, 0), m3ua.ERROR_MISSING_PARAMETER),  # ERR without Error Code
        (header(0, 1), m3ua.ERROR_MISSING_PARAMETER),  # NTFY without Status
        (header(2, 1), m3ua.ERROR_MISSING_PARAMETER),  # DUNA without Affected Point Code
        (header(3, 1, b"\x00\x11\x00"), m3ua.ERROR_PARAMETER_FIELD_ERROR),  # 3-octet parameter
        (header(3, 1, b"\x00\x11\x00\x03"), m3ua.ERROR_PARAMETER_FIELD_ERROR),  # length 3
        (header(3, 1, b"\x00\x11\x00\x0c\x00\x00\x00\x01"), m3ua.ERROR_PARAMETER_FIELD_ERROR),
        (header(3, 1, b"\x00\x11\x00\x06\x00\x01\x00\x00"), m3ua.ERROR_PARAMETER_FIELD_ERROR),
        (header(4, 1, b"\x00\x06\x00\x06\x00\x01\x00\x00"), m3ua.ERROR_PARAMETER_FIELD_ERROR),
        (header(4, 1, b"\x00\x06\x00\x04"), m3ua.ERROR_PARAMETER_FIELD_ERROR),  # no RC value
        (header(1, 1, b"\x02\x10\x00\x0c" + bytes(8)), m3ua.ERROR_PARAMETER_FIELD_ERROR),
        (  # DATA carries one Routing Context value, not two
            header(1, 1, b"\x00\x06\x00\x0c" + bytes(8) + b"\x02\x10\x00\x10" + bytes(12)),
            m3ua.ERROR_PARAMETER_FIELD_ERROR,
        ),
    ],
)
def test_refusals_carry_the_error_code_to_answer_with(octets: bytes, code: int) -> None:
    with pytest.raises(M3uaError) as caught:
        m3ua.decode(octets)
    assert caught.value.error_code == code
    assert isinstance(caught.value, CodecError)
    assert caught.value.layer == "m3ua"


def test_every_truncation_of_every_kind_is_refused() -> None:
    for message in MESSAGES:
        octets = m3ua.encode(message)
        for end in range(len(octets)):
            with pytest.raises(M3uaError):
                m3ua.decode(octets[:end])


# --- tolerance ----------------------------------------------------------------------


def test_missing_padding_of_the_last_parameter_is_tolerated() -> None:
    beat = m3ua.encode(Beat(b"abc"))
    unpadded = beat[:3] + bytes((beat[3],)) + (15).to_bytes(4, "big") + beat[8:15]
    assert m3ua.decode(unpadded) == Beat(b"abc")


def test_unknown_and_unused_parameters_are_ignored() -> None:
    octets = header(3, 1, b"\x7f\x00\x00\x05x\x00\x00\x00" + b"\x00\x06\x00\x08\x00\x00\x00\x01")
    assert m3ua.decode(octets) == AspUp()


def test_a_repeated_parameter_counts_once_the_last() -> None:
    octets = header(3, 1, b"\x00\x11\x00\x08\x00\x00\x00\x01\x00\x11\x00\x08\x00\x00\x00\x02")
    assert m3ua.decode(octets) == AspUp(2)


def test_bad_utf8_in_an_info_string_is_replaced() -> None:
    octets = header(3, 1, b"\x00\x04\x00\x06\xff\xfe\x00\x00")
    assert m3ua.decode(octets) == AspUp(None, "\ufffd\ufffd")


def test_decode_takes_bytearray() -> None:
    octets = m3ua.encode(Data(PD, 1))
    message = m3ua.decode(bytearray(octets))
    assert isinstance(message, Data) and type(message.protocol_data.data) is bytes


# --- StreamFramer bounds --------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 7, 65537, 0xFFFFFFFF])
def test_framer_refuses_an_impossible_length_and_stays_refusing(length: int) -> None:
    framer = StreamFramer()
    assert framer.feed(m3ua.encode(AspUp())) == [m3ua.encode(AspUp())]
    bad = b"\x01\x00\x03\x01" + length.to_bytes(4, "big")
    with pytest.raises(M3uaError) as caught:
        for octet in bad:
            framer.feed(bytes((octet,)))
    assert caught.value.error_code == m3ua.ERROR_PROTOCOL_ERROR
    with pytest.raises(M3uaError):
        framer.feed(m3ua.encode(AspUp()))


def test_framer_accepts_the_largest_message() -> None:
    data = Data(ProtocolData(1, 2, 3, 0, 0, 0, bytes(65536 - 8 - 16)))
    octets = m3ua.encode(data)
    assert len(octets) == 65536
    assert StreamFramer().feed(octets) == [octets]
    smaller = StreamFramer(max_octets=1024)
    with pytest.raises(M3uaError):
        smaller.feed(octets)


def test_framer_holds_a_partial_message() -> None:
    octets = m3ua.encode(Data(PD, 1))
    framer = StreamFramer()
    assert framer.feed(octets + octets[:10]) == [octets]
    assert framer.buffered == 10
    assert framer.feed(octets[10:]) == [octets]
    assert framer.buffered == 0
    assert framer.feed(b"") == []
