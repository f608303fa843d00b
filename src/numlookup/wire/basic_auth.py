"""Client credentials: the `Basic` HTTP authentication scheme and URL user-info.

Clients of the Number Lookup interface authenticate with a user name and a
password, either in an `Authorization: Basic ...` header (what
`curl -u user:password` and every HTTP library send) or, rarely, in the
user-info of an absolute request target (`http://user:password@host/lookup`).

Rules kept here:

* RFC 7235 §2.1: the auth-scheme is case-insensitive (`Basic`, `basic`,
  `BASIC`) and is followed by one or more SP, then the credentials.
  Leading and trailing whitespace (SP, HTAB) of the field value is not part of
  it (RFC 7230 §3.2.4).
* RFC 7617 §2: the credentials are the base64 (RFC 4648 §4, padded, nothing
  outside the alphabet) of `user-id ":" password`. The user-id cannot contain
  a colon, so the first colon splits them and the password may hold more.
* RFC 7617 §2.1: the octets are UTF-8 when the server asks for
  `charset="UTF-8"`; older clients send ISO-8859-1. We decode user and
  password as UTF-8 when both are valid UTF-8, else both as ISO-8859-1, which
  decodes any octets.
* RFC 3986 §3.2.1: user-info is `user:password`, each part percent-encoded
  (§2.1); the first unescaped colon splits them. `+` is not special there.

Anything malformed gives None, which the caller answers with 401. Pure
functions only: no I/O, no logging, no state.
"""

from __future__ import annotations

import binascii
from urllib.parse import unquote_to_bytes

_SCHEME = b"basic"
_OWS = b" \t"


def parse_basic(value: bytes) -> tuple[str, str] | None:
    """(user, password) from an `Authorization` field value, or None.

    None for another scheme, no credentials, base64 that is not strict RFC 4648
    (bad characters, missing or excess padding) or credentials without a colon.
    """
    value = value.strip(_OWS)
    scheme, sp, token = value.partition(b" ")
    if not sp or scheme.lower() != _SCHEME:
        return None
    token = token.lstrip(b" ")
    if not token:
        return None
    try:
        decoded = binascii.a2b_base64(token, strict_mode=True)
    except binascii.Error:
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return _text(user, password)


def parse_userinfo(userinfo: bytes) -> tuple[str, str] | None:
    """(user, password) from the user-info of a URL (RFC 3986 §3.2.1), or None.

    `userinfo` is what stands between `//` and `@`, still percent-encoded.
    None when it has no colon.
    """
    user, colon, password = userinfo.partition(b":")
    if not colon:
        return None
    return _text(unquote_to_bytes(user), unquote_to_bytes(password))


def _text(user: bytes, password: bytes) -> tuple[str, str]:
    """Both as UTF-8 if both are UTF-8, else both as ISO-8859-1 (RFC 7617 §2.1).

    A client encodes the pair with one charset, so one decision covers both.
    """
    try:
        return user.decode("utf-8"), password.decode("utf-8")
    except UnicodeDecodeError:
        return user.decode("latin-1"), password.decode("latin-1")
