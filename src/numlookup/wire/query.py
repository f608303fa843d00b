"""The query of a lookup request: `/lookup?msisdn=<digits>[&nocache]`.

The query is `application/x-www-form-urlencoded` (WHATWG URL Standard §5.1,
"application/x-www-form-urlencoded parsing"), which is how every HTTP client
builds one and what Python's `urllib.parse.parse_qsl` reads:

* the query is the part of the request target after the first `?`
  (RFC 3986 §3.4) and is split into fields at `&`; empty fields are skipped;
* a field is split into name and value at its first `=`; a field without `=`
  is a name with an empty value (`nocache`);
* in names and values `+` stands for a space (WHATWG urlencoded, not RFC 3986),
  then `%XX` is percent-decoded (RFC 3986 §2.1, hex digits of either case);
  a `%` not followed by two hex digits is kept as it is;
* the decoded octets are UTF-8 (WHATWG urlencoded; RFC 3986 §2.5).

`parse_lookup_query(q)` therefore agrees with
`parse_qsl(q.decode("latin-1"), keep_blank_values=True, encoding="latin-1")`
re-encoded to octets, which the tests use as the oracle. On top of that sit the
rules of the Number Lookup interface:

* `msisdn` absent, or every `msisdn` value empty: `msisdn` is None and the
  caller answers "Mandatory parameter msisdn not found";
* `msisdn` given more than once: empty values are ignored, equal values count
  once, two different values raise MsisdnInvalid (we will not guess which);
* an `msisdn` value that is not UTF-8 once percent-decoded raises MsisdnInvalid;
  any other text is returned as it is and the caller checks it is a number.
  A `+` sent unescaped arrives as a space (`msisdn=+46...` gives " 46...");
* `nocache` present with no value, an empty value or any other value turns the
  cache off; `0`, `false`, `no` or `off` (ASCII case-insensitive) leave it on;
  if `nocache` is given more than once the last one counts, as in
  `dict(parse_qsl(...))`;
* names are compared after decoding (`%6Esisdn` is `msisdn`); other names are
  ignored.

This runs on every request, so the forms clients really send,
`msisdn=<digits>` and `msisdn=%2B<digits>`, each with or without `&nocache`
behind, are recognised without splitting or decoding anything; every other
query takes the general path.
Pure functions only: no I/O, no logging, no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from numlookup.errors import MsisdnInvalid

_MSISDN_FIELD = b"msisdn="
_MSISDN_FIELD_LEN = len(_MSISDN_FIELD)
_NOCACHE_SUFFIX = b"&nocache"
_NOCACHE_SUFFIX_LEN = len(_NOCACHE_SUFFIX)
_ESCAPED_PLUS = (b"%2B", b"%2b")

# Values of `nocache` that leave the cache on, compared after ASCII lower-casing.
_NOCACHE_OFF: frozenset[bytes] = frozenset({b"0", b"false", b"no", b"off"})


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """What a lookup request asks for.

    `msisdn` is the decoded text of the `msisdn` parameter, not yet checked to
    be a number (None when it is missing or empty); `nocache` asks to bypass
    the result cache.
    """

    msisdn: str | None
    nocache: bool


_NOTHING = LookupQuery(None, False)


def parse_lookup_query(query: bytes) -> LookupQuery:
    """The LookupQuery in `query`, the octets after `?` in the request target.

    Raises MsisdnInvalid when `msisdn` is given twice with different values or
    is not UTF-8 after percent-decoding. See the module docstring for the rules.
    """
    # Fast path: `msisdn=<ASCII digits>`, optionally with the `+` escaped in
    # front (`%2B`) and `&nocache` behind: the forms HTTP clients build. None
    # needs splitting or decoding beyond that. bytes.isdigit() is False for b""
    # and true only for ASCII digits.
    if query[:_MSISDN_FIELD_LEN] == _MSISDN_FIELD:
        value = query[_MSISDN_FIELD_LEN:]
        if value.isdigit():
            return LookupQuery(value.decode("ascii"), False)
        nocache = value[-_NOCACHE_SUFFIX_LEN:] == _NOCACHE_SUFFIX
        if nocache:
            value = value[:-_NOCACHE_SUFFIX_LEN]
            if value.isdigit():
                return LookupQuery(value.decode("ascii"), True)
        if value[:3] in _ESCAPED_PLUS and value[3:].isdigit():
            return LookupQuery("+" + value[3:].decode("ascii"), nocache)
    if not query:
        return _NOTHING
    return _parse_general(query)


def _parse_general(query: bytes) -> LookupQuery:
    # Without `%` or `+` anywhere no name or value needs decoding.
    encoded = b"%" in query or b"+" in query
    msisdn = b""
    nocache = False
    for field in query.split(b"&"):
        name, _, value = field.partition(b"=")
        if encoded:
            name = _form_decode(name)
        if name == b"msisdn":
            if encoded:
                value = _form_decode(value)
            if not value or value == msisdn:
                continue
            if msisdn:
                raise MsisdnInvalid("msisdn given more than once with different values")
            msisdn = value
        elif name == b"nocache":
            if encoded:
                value = _form_decode(value)
            nocache = value.lower() not in _NOCACHE_OFF
    if not msisdn:
        return LookupQuery(None, nocache)
    try:
        text = msisdn.decode("utf-8")
    except UnicodeDecodeError:
        raise MsisdnInvalid("msisdn is not UTF-8") from None
    return LookupQuery(text, nocache)


def _form_decode(component: bytes) -> bytes:
    """One name or value: `+` to space (WHATWG urlencoded), then `%XX` (RFC 3986 §2.1)."""
    if b"+" in component:
        component = component.replace(b"+", b" ")
    if b"%" in component:
        # Leaves a `%` that is not followed by two hex digits as it is,
        # exactly as parse_qsl does.
        component = unquote_to_bytes(component)
    return component
