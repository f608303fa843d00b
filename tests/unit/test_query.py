"""The lookup query parser, against urllib.parse.parse_qsl as the oracle."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from numlookup.errors import MsisdnInvalid
from numlookup.wire import query as query_module
from numlookup.wire.query import LookupQuery, parse_lookup_query

_NOCACHE_OFF = {b"0", b"false", b"no", b"off"}


def oracle(query: bytes) -> LookupQuery:
    """The rules of numlookup.wire.query, written over parse_qsl.

    parse_qsl runs over the octets (latin-1 maps each octet to one character
    and back), then the msisdn value is decoded as UTF-8, as a browser would.
    """
    pairs = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in parse_qsl(
            query.decode("latin-1"), keep_blank_values=True, encoding="latin-1", errors="strict"
        )
    ]
    msisdns = {value for name, value in pairs if name == b"msisdn" and value}
    if len(msisdns) > 1:
        raise MsisdnInvalid("different values")
    msisdn = None
    if msisdns:
        try:
            msisdn = msisdns.pop().decode("utf-8")
        except UnicodeDecodeError:
            raise MsisdnInvalid("not UTF-8") from None
    nocaches = [value for name, value in pairs if name == b"nocache"]
    nocache = bool(nocaches) and nocaches[-1].lower() not in _NOCACHE_OFF
    return LookupQuery(msisdn, nocache)


def outcome(parse: object, query: bytes) -> LookupQuery | str:
    assert callable(parse)
    try:
        result = parse(query)
    except MsisdnInvalid:
        return "MsisdnInvalid"
    assert isinstance(result, LookupQuery)
    return result


@pytest.mark.parametrize(
    ("query", "msisdn", "nocache"),
    [
        # The two forms clients send.
        (b"msisdn=46708100100", "46708100100", False),
        (b"msisdn=46708100100&nocache", "46708100100", True),
        # msisdn missing or empty: the caller answers "Mandatory parameter msisdn not found".
        (b"", None, False),
        (b"msisdn=", None, False),
        (b"msisdn", None, False),
        (b"msisdn=&msisdn=", None, False),
        (b"msisdn=&nocache", None, True),
        (b"nocache", None, True),
        (b"&&&", None, False),
        (b"=46708100100", None, False),
        # Names are compared after decoding, and exactly.
        (b"%6Dsisdn=46708100100", "46708100100", False),
        (b"msisd%6E=46708100100", "46708100100", False),
        (b"MSISDN=46708100100", None, False),
        (b"msisdn+=46708100100", None, False),
        (b"+msisdn=46708100100", None, False),
        (b"no%63ache&msisdn=1", "1", True),
        # Order, empty fields and unknown parameters do not matter.
        (b"nocache&msisdn=46708100100", "46708100100", True),
        (b"&&msisdn=46708100100&&", "46708100100", False),
        (b"user=x&msisdn=46708100100&pass=y", "46708100100", False),
        (b"msisdn=46708100100&nocache&foo", "46708100100", True),
        # The value is everything after the first '='.
        (b"msisdn=4670=8100100", "4670=8100100", False),
        # Repeated msisdn: equal values count once, empty values are ignored.
        (b"msisdn=46708100100&msisdn=46708100100", "46708100100", False),
        (b"msisdn=46708100100&msisdn=%34%36708100100", "46708100100", False),
        (b"msisdn=&msisdn=46708100100", "46708100100", False),
        (b"msisdn=46708100100&msisdn=", "46708100100", False),
        (b"msisdn=46708100100&msisdn", "46708100100", False),
        # A leading '+': escaped it stays, unescaped it is a space (WHATWG urlencoded).
        (b"msisdn=%2B46708100100", "+46708100100", False),
        (b"msisdn=%2b46708100100", "+46708100100", False),
        (b"msisdn=+46708100100", " 46708100100", False),
        (b"msisdn=+", " ", False),
        (b"msisdn=00%2046708100100", "00 46708100100", False),
        # Text that is not digits is returned; the caller decides it is invalid.
        (b"msisdn=%ZZ", "%ZZ", False),
        (b"msisdn=%4", "%4", False),
        (b"msisdn=%", "%", False),
        (b"msisdn=467%", "467%", False),
        (b"msisdn=abc", "abc", False),
        (b"msisdn=%C3%A9", "\u00e9", False),
        (b"msisdn=\xc3\xa9", "\u00e9", False),
        (b"msisdn=%E2%80%8B46708100100", "\u200b46708100100", False),
        (b"msisdn=%00", "\x00", False),
        # nocache: no value, empty or anything but 0/false/no/off turns the cache off.
        (b"msisdn=1&nocache=", "1", True),
        (b"msisdn=1&nocache=1", "1", True),
        (b"msisdn=1&nocache=true", "1", True),
        (b"msisdn=1&nocache=yes", "1", True),
        (b"msisdn=1&nocache=%FF", "1", True),
        (b"msisdn=1&nocache=+0", "1", True),
        (b"msisdn=1&nocache=0", "1", False),
        (b"msisdn=1&nocache=false", "1", False),
        (b"msisdn=1&nocache=FALSE", "1", False),
        (b"msisdn=1&nocache=No", "1", False),
        (b"msisdn=1&nocache=oFF", "1", False),
        (b"msisdn=1&nocache=%30", "1", False),
        # nocache given twice: the last one counts.
        (b"msisdn=1&nocache&nocache=0", "1", False),
        (b"msisdn=1&nocache=0&nocache", "1", True),
        (b"msisdn=1&nocachex", "1", False),
    ],
)
def test_parse(query: bytes, msisdn: str | None, nocache: bool) -> None:
    assert parse_lookup_query(query) == LookupQuery(msisdn, nocache)
    assert oracle(query) == LookupQuery(msisdn, nocache)


@pytest.mark.parametrize(
    "query",
    [
        # Two different msisdn values: we do not guess which one was meant.
        b"msisdn=46708100100&msisdn=46708100200",
        b"msisdn=46708100100&msisdn=%2B46708100100",
        b"msisdn=46708100100&msisdn=+46708100100",
        b"msisdn=1&nocache&msisdn=2",
        # Not UTF-8 after percent-decoding, escaped or raw.
        b"msisdn=%FF",
        b"msisdn=\xff",
        b"msisdn=4670%C3",
        b"msisdn=%C3%28",
        b"msisdn=%ED%A0%80",  # an encoded surrogate is not UTF-8 either
        b"msisdn=%FF&nocache",
        b"msisdn=%FF&msisdn=",
        b"msisdn=%FF&msisdn=%FF",
    ],
)
def test_parse_refuses(query: bytes) -> None:
    with pytest.raises(MsisdnInvalid):
        parse_lookup_query(query)
    with pytest.raises(MsisdnInvalid):
        oracle(query)


def test_refusal_carries_the_result_code() -> None:
    with pytest.raises(MsisdnInvalid) as caught:
        parse_lookup_query(b"msisdn=1&msisdn=2")
    assert caught.value.result.value == "msisdn is invalid"


def test_huge_values() -> None:
    digits = "4" * 100_000
    assert parse_lookup_query(b"msisdn=" + digits.encode()) == LookupQuery(digits, False)
    escaped = b"msisdn=" + b"%34" * 100_000 + b"&nocache"
    assert parse_lookup_query(escaped) == LookupQuery(digits, True)
    many = b"&".join([b"msisdn=46708100100"] * 10_000)
    assert parse_lookup_query(many) == LookupQuery("46708100100", False)
    noise = b"x=1&" * 50_000 + b"msisdn=%2B46708100100"
    assert parse_lookup_query(noise) == LookupQuery("+46708100100", False)


@pytest.mark.parametrize(
    "query",
    [
        b"msisdn=46708100100",
        b"msisdn=46708100100&nocache",
        b"msisdn=%2B46708100100",
        b"msisdn=%2b46708100100&nocache",
        b"msisdn=1",
        b"msisdn=0",
    ],
)
def test_common_forms_take_the_fast_path(query: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def general(query: bytes) -> LookupQuery:
        raise AssertionError("general path taken")

    expected = oracle(query)
    monkeypatch.setattr(query_module, "_parse_general", general)
    assert parse_lookup_query(query) == expected


def test_lookup_query_is_a_frozen_value() -> None:
    parsed = parse_lookup_query(b"msisdn=46708100100")
    with pytest.raises(AttributeError):
        parsed.msisdn = "1"  # type: ignore[misc]
    assert parsed == LookupQuery("46708100100", False)
    assert hash(parsed) == hash(LookupQuery("46708100100", False))


# Pieces a query is built from in the property tests: the two names, the
# separators, escapes good and bad, digits, letters, UTF-8 and bytes that are not.
_PIECES = [
    b"msisdn=%2B",
    b"&nocache",
    b"msisdn",
    b"nocache",
    b"msisdn=",
    b"nocache=",
    b"%6Dsisdn",
    b"no%63ache",
    b"&",
    b"=",
    b"+",
    b"%",
    b"%2B",
    b"%2b",
    b"%20",
    b"%26",
    b"%3D",
    b"%30",
    b"%34",
    b"%C3",
    b"%A9",
    b"%FF",
    b"%ZZ",
    b"%4",
    b"0",
    b"1",
    b"4",
    b"46708100100",
    b"a",
    b"F",
    b"false",
    b"OFF",
    b"no",
    b" ",
    b"\xc3",
    b"\xa9",
    b"\xff",
    b"\x00",
]

_queries = st.lists(st.sampled_from(_PIECES), max_size=24).map(b"".join)

_names = st.sampled_from([b"msisdn", b"nocache", b"%6Dsisdn", b"msisdn+", b"x", b""])
_values = st.one_of(
    st.sampled_from([b"", b"46708100100", b"%2B46708100100", b"+46708100100", b"0", b"off"]),
    st.lists(st.sampled_from(_PIECES[8:]), max_size=6).map(b"".join),
)
_fields = st.tuples(_names, st.booleans(), _values).map(
    lambda f: f[0] + (b"=" + f[2] if f[1] else b"")
)
_structured = st.lists(_fields, max_size=6).map(b"&".join)

_octets = st.binary(max_size=40)
_alphabet = st.lists(st.sampled_from(list(b"&=+%0123456789aAfFzZ\xc3\xa9\xff")), max_size=40).map(
    bytes
)


@given(st.one_of(_queries, _structured, _octets, _alphabet))
@example(b"msisdn=1&msisdn=%31")
@example(b"msisdn=%31&msisdn=1&msisdn=2")
@example(b"msisdn=&nocache")
@example(b"msisdn=1&nocache=")
@example(b"msisdn=\xff&nocache")
def test_agrees_with_parse_qsl(query: bytes) -> None:
    assert outcome(parse_lookup_query, query) == outcome(oracle, query)


@given(st.sampled_from([b"", b"%2B", b"%2b"]), st.from_regex(rb"\A[0-9]{1,20}\Z"), st.booleans())
def test_agrees_with_parse_qsl_on_common_forms(plus: bytes, digits: bytes, nocache: bool) -> None:
    query = b"msisdn=" + plus + digits + (b"&nocache" if nocache else b"")
    expected = LookupQuery(("+" if plus else "") + digits.decode(), nocache)
    assert parse_lookup_query(query) == oracle(query) == expected
