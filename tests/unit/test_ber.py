"""X.690 BER subset: tags, lengths, TLV walking, INTEGER / OID / BOOLEAN / NULL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numlookup.errors import CodecError
from numlookup.ss7 import ber


def test_short_form_length() -> None:
    data = bytes.fromhex("0403010203")
    assert ber.read_tlv(data, 0, len(data)) == (0x04, 2, 5)


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "8180"),
        (255, "81ff"),
        (256, "820100"),
        (70000, "83011170"),
    ],
)
def test_length_forms(length: int, encoded: str) -> None:
    assert ber.encode_length(length).hex() == encoded
    data = ber.tlv(b"\x04", bytes(length))
    assert data[1 : 1 + len(encoded) // 2].hex() == encoded
    assert ber.read_tlv(data, 0, len(data)) == (0x04, 1 + len(encoded) // 2, len(data))


def test_non_minimal_long_form_is_accepted() -> None:
    # §8.1.3.5: BER (unlike DER) lets the sender use the long form for any length.
    data = bytes.fromhex("0481020a0b")
    assert ber.read_tlv(data, 0, len(data)) == (0x04, 3, 5)


def test_indefinite_length_is_refused() -> None:
    data = bytes.fromhex("30800401000000")
    with pytest.raises(CodecError, match="indefinite") as info:
        ber.read_tlv(data, 0, len(data))
    assert info.value.layer == "ber"


@pytest.mark.parametrize(
    "hex_data",
    [
        "",  # no identifier
        "04",  # no length
        "0403aabb",  # content runs past the end
        "048101",  # long-form length runs past the end
        "0485000000000001",  # five length octets
        "04ff",  # reserved length octet
        "1f",  # high tag number form without its number
        "1f80",  # high tag number with a leading 0x80 (§8.1.2.4.2 c)
        "1f81",  # tag runs past the end
        "1f8181818181810100",  # tag number longer than five octets
    ],
)
def test_malformed_tlv(hex_data: str) -> None:
    data = bytes.fromhex(hex_data)
    with pytest.raises(CodecError):
        ber.read_tlv(data, 0, len(data))


def test_tlv_must_end_by_the_given_end() -> None:
    data = bytes.fromhex("3003040100")
    with pytest.raises(CodecError):
        ber.read_tlv(data, 0, 4)


def test_high_tag_numbers() -> None:
    # [32] primitive: 9f 20; [200] constructed: bf 81 48.
    assert ber.encode_tag(ber.CLASS_CONTEXT, False, 32) == b"\x9f\x20"
    assert ber.encode_tag(ber.CLASS_CONTEXT, True, 200) == b"\xbf\x81\x48"
    assert ber.encode_tag(ber.CLASS_APPLICATION, True, 2) == b"\x62"
    data = b"\xbf\x81\x48\x02\x05\x00"
    assert ber.read_tlv(data, 0, len(data)) == (0xBF8148, 4, 6)


@given(st.integers(0, 2**28 - 1), st.sampled_from([0x00, 0x40, 0x80, 0xC0]), st.booleans())
def test_tag_round_trip(number: int, tag_class: int, constructed: bool) -> None:
    identifier = ber.encode_tag(tag_class, constructed, number)
    data = ber.tlv(identifier, b"xy")
    tag, start, stop = ber.read_tlv(data, 0, len(data))
    assert tag == int.from_bytes(identifier, "big")
    assert data[start:stop] == b"xy"


@given(st.binary(max_size=70000))
def test_tlv_round_trip(content: bytes) -> None:
    data = ber.tlv(b"\x04", content)
    tag, start, stop = ber.read_single(data)
    assert (tag, data[start:stop]) == (0x04, content)


def test_read_children_and_single() -> None:
    data = bytes.fromhex("3006020101020102")
    tag, start, stop = ber.read_single(data)
    assert tag == 0x30
    assert ber.read_children(data, start, stop) == [(0x02, 4, 5), (0x02, 7, 8)]
    with pytest.raises(CodecError, match="after"):
        ber.read_single(data + b"\x00")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (1, "01"), (127, "7f"), (128, "0080"), (-1, "ff"), (-128, "80"), (-129, "ff7f")],
)
def test_integer_contents(value: int, encoded: str) -> None:
    assert ber.encode_integer_content(value).hex() == encoded
    content = bytes.fromhex(encoded)
    assert ber.read_integer(content, 0, len(content)) == value


@given(st.integers(-(2**31), 2**31 - 1))
def test_integer_round_trip(value: int) -> None:
    content = ber.encode_integer_content(value)
    assert ber.read_integer(content, 0, len(content)) == value


def test_integer_size_limits() -> None:
    with pytest.raises(CodecError):
        ber.read_integer(b"", 0, 0)
    with pytest.raises(CodecError):
        ber.read_integer(bytes(5), 0, 5)


@pytest.mark.parametrize(
    ("arcs", "encoded"),
    [
        ((0, 4, 0, 0, 1, 0, 20, 3), "04000001001403"),  # shortMsgGatewayContext-v3
        ((0, 0, 17, 773, 1, 1, 1), "00118605010101"),  # dialogue-as-id
        ((1, 2, 840, 113549), "2a864886f70d"),
        ((2, 999, 3), "8837" + "03"),
    ],
)
def test_oid(arcs: tuple[int, ...], encoded: str) -> None:
    assert ber.encode_oid_content(arcs).hex() == encoded
    content = bytes.fromhex(encoded)
    assert ber.read_oid(content, 0, len(content)) == arcs


@given(
    st.tuples(st.integers(0, 1), st.integers(0, 39)) | st.tuples(st.just(2), st.integers(0, 500)),
    st.lists(st.integers(0, 2**40), max_size=10),
)
def test_oid_round_trip(head: tuple[int, int], tail: list[int]) -> None:
    arcs = (*head, *tail)
    content = ber.encode_oid_content(arcs)
    assert ber.read_oid(content, 0, len(content)) == arcs


@pytest.mark.parametrize("arcs", [(), (1,), (3, 1), (0, 40), (1, 2, -1), (0, 4, 256, -5)])
def test_bad_oid_is_refused(arcs: tuple[int, ...]) -> None:
    with pytest.raises(CodecError):
        ber.encode_oid_content(arcs)


@pytest.mark.parametrize("hex_data", ["", "2a86", "2a8001"])
def test_malformed_oid(hex_data: str) -> None:
    content = bytes.fromhex(hex_data)
    with pytest.raises(CodecError):
        ber.read_oid(content, 0, len(content))


def test_boolean_and_null() -> None:
    assert ber.read_boolean(b"\xff", 0, 1) is True
    assert ber.read_boolean(b"\x01", 0, 1) is True  # §8.2.2: any non-zero octet
    assert ber.read_boolean(b"\x00", 0, 1) is False
    with pytest.raises(CodecError):
        ber.read_boolean(b"\x00\x00", 0, 2)
    ber.read_null(b"", 0, 0)
    with pytest.raises(CodecError):
        ber.read_null(b"\x00", 0, 1)
