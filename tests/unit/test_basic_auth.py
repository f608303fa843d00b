"""Basic credentials (RFC 7617) and URL user-info (RFC 3986 §3.2.1)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numlookup.wire.basic_auth import parse_basic, parse_userinfo


def basic(credentials: bytes, scheme: bytes = b"Basic") -> bytes:
    return scheme + b" " + base64.b64encode(credentials)


def test_curl_example_from_the_interface() -> None:
    # `curl -u user:password` in the interface document.
    assert parse_basic(b"Basic dXNlcjpwYXNzd29yZA==") == ("user", "password")


@pytest.mark.parametrize("scheme", [b"Basic", b"basic", b"BASIC", b"bAsIc"])
def test_scheme_is_case_insensitive(scheme: bytes) -> None:
    assert parse_basic(basic(b"user:password", scheme)) == ("user", "password")


@pytest.mark.parametrize(
    "value",
    [
        b"Basic   dXNlcjpwYXNzd29yZA==",
        b" Basic dXNlcjpwYXNzd29yZA==",
        b"Basic dXNlcjpwYXNzd29yZA== ",
        b"\tBasic dXNlcjpwYXNzd29yZA==\t",
    ],
)
def test_spaces(value: bytes) -> None:
    assert parse_basic(value) == ("user", "password")


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        # RFC 7617 §2: the user-id cannot hold a colon; the password can.
        (b"user:pa:ss", ("user", "pa:ss")),
        (b"user::", ("user", ":")),
        (b"user:", ("user", "")),
        (b":password", ("", "password")),
        (b":", ("", "")),
        (b"us er:pass word", ("us er", "pass word")),
        # RFC 7617 §2.1: UTF-8, or ISO-8859-1 from older clients.
        ("jörg:pässwörd".encode(), ("jörg", "pässwörd")),
        ("jörg:pässwörd".encode("latin-1"), ("jörg", "pässwörd")),
        ("用户:密码".encode(), ("用户", "密码")),
        # One charset for the pair: if either part is not UTF-8, both are ISO-8859-1.
        ("jörg:".encode() + "pässwörd".encode("latin-1"), ("jÃ¶rg", "pässwörd")),
        (b"\xff\xfe:\x00", ("\u00ff\u00fe", "\x00")),
    ],
)
def test_credentials(credentials: bytes, expected: tuple[str, str]) -> None:
    assert parse_basic(basic(credentials)) == expected


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b" ",
        b"Basic",
        b"Basic ",
        b"Basic  ",
        b"Basic dXNlcnBhc3N3b3Jk",  # "userpassword": no colon
        b"Basic dXNlcjpwYXNzd29yZA",  # padding missing
        b"Basic dXNlcjpwYXNzd29yZA=",  # padding short
        b"Basic dXNlcjpwYXNzd29yZA===",  # padding in excess
        b"Basic dXNlcjpwYXNzd29yZA==dXNl",  # data after the padding
        b"Basic =dXNlcjpwYXNzd29yZA=",  # padding first
        b"Basic dXNlcjpw YXNzd29yZA==",  # space inside
        b"Basic dXNlcjpw\nYXNzd29yZA==",  # line break inside
        b"Basic dXNlcjpwYXNzd29yZA==\n",
        b"Basic dXNlcjpwYXNzd29yZA==,",
        b"Basic dXNlcjpwYXNzd29yZA*=",  # not in the alphabet
        b"Basic dXNlcjpwYXNzd29yZA-_",  # base64url is not base64
        b"Basic user:password",  # not encoded at all
        b"Basic\tdXNlcjpwYXNzd29yZA==",  # RFC 7235 §2.1: 1*SP, not HTAB
        b"BasicdXNlcjpwYXNzd29yZA==",
        b"Basicx dXNlcjpwYXNzd29yZA==",
        b"Bearer dXNlcjpwYXNzd29yZA==",
        b'Digest username="user", realm="lookup"',
        b"dXNlcjpwYXNzd29yZA==",
        b"\xc2\xa0Basic dXNlcjpwYXNzd29yZA==",
        b"B\xc3\xa1sic dXNlcjpwYXNzd29yZA==",
    ],
)
def test_broken_gives_none(value: bytes) -> None:
    assert parse_basic(value) is None


_users = st.text(st.characters(exclude_characters=":", exclude_categories=["Cs"]))
_passwords = st.text(st.characters(exclude_categories=["Cs"]))


@given(_users, _passwords)
def test_round_trip_utf8(user: str, password: str) -> None:
    assert parse_basic(basic(f"{user}:{password}".encode())) == (user, password)


@given(
    st.text(st.characters(max_codepoint=0xFF, exclude_characters=":")),
    st.text(st.characters(max_codepoint=0xFF)),
)
def test_round_trip_latin1(user: str, password: str) -> None:
    raw = f"{user}:{password}".encode("latin-1")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        expected = (user, password)
    else:  # octets that are also UTF-8 are read as UTF-8
        expected = (user.encode("latin-1").decode(), password.encode("latin-1").decode())
    assert parse_basic(basic(raw)) == expected


@given(st.binary(max_size=64))
def test_any_octets_give_credentials_or_none(value: bytes) -> None:
    result = parse_basic(value)
    assert result is None or (isinstance(result[0], str) and isinstance(result[1], str))


@given(st.binary(max_size=48))
def test_any_decoded_credentials_give_credentials_or_none(credentials: bytes) -> None:
    result = parse_basic(basic(credentials))
    if b":" not in credentials:
        assert result is None
    else:
        assert result is not None
        assert ":" not in result[0]


@pytest.mark.parametrize(
    ("userinfo", "expected"),
    [
        (b"user:password", ("user", "password")),
        (b"user:pa:ss", ("user", "pa:ss")),
        (b"user:", ("user", "")),
        (b":password", ("", "password")),
        (b":", ("", "")),
        # RFC 3986 §2.1: percent-encoded octets, hex digits of either case.
        (b"us%40er:p%40ss", ("us@er", "p@ss")),
        (b"user%3Aname:pw", ("user:name", "pw")),
        (b"user:p%3as%3As", ("user", "p:s:s")),
        (b"user:100%25", ("user", "100%")),
        (b"us%20er:pass", ("us er", "pass")),
        # '+' is a space only in form-urlencoded queries, not in user-info.
        (b"a+b:c+d", ("a+b", "c+d")),
        # A '%' not followed by two hex digits stays as it is.
        (b"user:%ZZ%4", ("user", "%ZZ%4")),
        # UTF-8, or ISO-8859-1 when the octets are not UTF-8.
        (b"j%C3%B6rg:p%C3%A4ss", ("jörg", "päss")),
        (b"j%F6rg:p%E4ss", ("jörg", "päss")),
    ],
)
def test_userinfo(userinfo: bytes, expected: tuple[str, str]) -> None:
    assert parse_userinfo(userinfo) == expected


@pytest.mark.parametrize("userinfo", [b"", b"user", b"user%3Apassword"])
def test_userinfo_without_colon_gives_none(userinfo: bytes) -> None:
    assert parse_userinfo(userinfo) is None
