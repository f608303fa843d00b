"""Bytes of the HTTP responses numlookup sends (RFC 9112 §4, §6).

The 200 status line and header order copy the interface's curl transcript:
`HTTP/1.1 200 OK, Success`, Date, Content-Length, Content-Type.
"""

from __future__ import annotations

from email.utils import formatdate

CONTENT_TYPE = b"text/plain; charset=ISO-8859-1"
STATUS_200 = b"HTTP/1.1 200 OK, Success\r\n"
REALM = b'Basic realm="numlookup"'

_REASONS = {
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


def date_header(now: float | None = None) -> bytes:
    """`Date: <IMF-fixdate>\\r\\n` (RFC 9110 §5.6.7); rebuilt once a second."""
    return b"Date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"


def connection_header(keep_alive: bool, http10: bool) -> bytes:
    """HTTP/1.1 keeps alive unless told; HTTP/1.0 only when it asked (RFC 9112 §9.3)."""
    if not keep_alive:
        return b"Connection: close\r\n"
    if http10:
        return b"Connection: keep-alive\r\n"
    return b""


def ok(body: bytes, date: bytes, connection: bytes = b"") -> bytes:
    return b"".join(
        (
            STATUS_200,
            date,
            b"Content-Length: %d\r\n" % len(body),
            b"Content-Type: " + CONTENT_TYPE + b"\r\n",
            connection,
            b"\r\n",
            body,
        )
    )


def error(status: int, date: bytes, connection: bytes = b"", extra: bytes = b"") -> bytes:
    """A short plain-text error response; `extra` holds whole header lines."""
    reason = _REASONS[status]
    body = b"%d %s\n" % (status, reason)
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            date,
            b"Content-Length: %d\r\n" % len(body),
            b"Content-Type: " + CONTENT_TYPE + b"\r\n",
            extra,
            connection,
            b"\r\n",
            body,
        )
    )


def unauthorized(date: bytes, connection: bytes = b"") -> bytes:
    return error(401, date, connection, b"WWW-Authenticate: " + REALM + b"\r\n")


def method_not_allowed(date: bytes, connection: bytes = b"") -> bytes:
    return error(405, date, connection, b"Allow: GET\r\n")
