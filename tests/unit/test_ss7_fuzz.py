"""Fuzz every BER, TCAP and MAP decoder: whatever the bytes, only CodecError comes out.

Random bytes, and valid PDUs (the vectors, and their MAP parameters) mutated:
octets flipped, replaced, inserted, deleted, lengths bumped, cut short. When a
mutated message still decodes, it must survive encode → decode unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numlookup.errors import CodecError
from numlookup.ss7 import ber, gsm_map, tcap

VECTORS = Path(__file__).parent.parent / "vectors" / "tcap"
PDUS = [bytes.fromhex(p.read_text()) for p in sorted(VECTORS.glob("*.hex"))]
PARAMETERS = [
    c.parameter
    for m in map(tcap.decode, PDUS)
    if not isinstance(m, tcap.Abort)
    for c in m.components
    if not isinstance(c, tcap.Reject) and c.parameter is not None
]
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "bump", "cut"]))
        if not data:
            data.append(draw(st.integers(0, 255)))
        elif kind == "flip":
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[where] = draw(st.sampled_from([0x00, 0x05, 0x30, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
        elif kind == "insert":
            data.insert(where, draw(st.integers(0, 255)))
        elif kind == "delete":
            del data[where]
        elif kind == "bump":
            data[where] = (data[where] + draw(st.sampled_from([-2, -1, 1, 2]))) % 256
        else:
            del data[where:]
    return bytes(data)


def tcap_input() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=200) | mutated(PDUS)


def map_input() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=80) | mutated(PARAMETERS)


def only_codec_error(decode: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return decode(data)
    except CodecError:
        return None


@FUZZ
@given(tcap_input())
def test_tcap_decode(data: bytes) -> None:
    message = only_codec_error(tcap.decode, data)
    if message is not None:
        assert tcap.decode(tcap.encode(message)) == message


@FUZZ
@given(tcap_input())
def test_tcap_error_carries_a_known_cause(data: bytes) -> None:
    try:
        tcap.decode(data)
    except tcap.TcapDecodeError as error:
        assert error.layer == "tcap"
        assert error.p_abort_cause is None or error.p_abort_cause in set(tcap.PAbortCause)
        for tid in (error.otid, error.dtid):
            assert tid is None or 1 <= len(tid) <= 4


@FUZZ
@given(tcap_input())
def test_tcap_parts(data: bytes) -> None:
    # The dialogue and component decoders on their own, over any span of the input.
    only_codec_error(lambda d: tcap.decode_dialogue(d, 0, len(d)), data)
    only_codec_error(lambda d: tcap.decode_component(d, d[0] if d else 0xA1, 1, len(d)), data)


@FUZZ
@given(map_input())
def test_map_decoders(data: bytes) -> None:
    argument = only_codec_error(gsm_map.decode_sri_sm_arg, data)
    if argument is not None:
        assert isinstance(argument.msisdn, str)
    result = only_codec_error(gsm_map.decode_sri_sm_res, data)
    if result is not None:
        assert result.imsi.isdigit()
    only_codec_error(gsm_map.decode_address, data)
    only_codec_error(gsm_map.decode_imsi, data)
    only_codec_error(gsm_map.decode_tbcd, data)


@FUZZ
@given(st.binary(max_size=40), st.integers(0, 45), st.integers(0, 45))
def test_ber_readers(data: bytes, start: int, end: int) -> None:
    end = min(end, len(data))
    for read in (
        ber.read_tlv,
        ber.read_children,
        ber.read_single,
        ber.read_integer,
        ber.read_oid,
        ber.read_boolean,
        ber.read_null,
    ):
        only_codec_error(lambda d, read=read: read(d, start, end), data)  # type: ignore[misc]
