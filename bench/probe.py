"""Check one benchmark target before (and after) it is loaded.

    python bench/probe.py http://127.0.0.1:PORT/lookup?msisdn=46708100100
    python bench/probe.py https://127.0.0.1:PORT/lookup --ported N --stride S

The first form asks the URL with the demo credentials and expects 200 and the
body `result=OK;imsi=24008`, then asks without credentials and with wrong ones
and expects 401 (so auth is really checked). The second form asks a few numbers
of the bench/make_db.py database with `&nocache` and expects each one's network,
and prints what an unknown number gets. Exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ssl
import sys
from urllib.parse import urlsplit

from make_db import number, plmn, unknown_number

DEMO = "Basic " + base64.b64encode(b"demo:demo").decode()
WRONG = "Basic " + base64.b64encode(b"demo:wrong").decode()
EXPECTED = "result=OK;imsi=24008"


def get(url: str, authorization: str | None) -> tuple[int, str]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the servers' certificates are self-signed
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=10, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=10)
    target = parts.path + ("?" + parts.query if parts.query else "")
    headers = {"Authorization": authorization} if authorization else {}
    try:
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("latin-1")
    finally:
        conn.close()


def expect(url: str, authorization: str | None, status: int, body: str | None) -> list[str]:
    got_status, got_body = get(url, authorization)
    if got_status != status or (body is not None and got_body != body):
        want = f"{status} {body!r}" if body is not None else str(status)
        return [f"{url}: got {got_status} {got_body!r}, expected {want}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--ported", type=int, help="numbers in the make_db.py database")
    parser.add_argument("--stride", type=int, default=7)
    args = parser.parse_args(argv)

    errors = expect(args.url, None, 401, None) + expect(args.url, WRONG, 401, None)
    if args.ported is None:
        errors += expect(args.url, DEMO, 200, EXPECTED)
    else:
        base = args.url.split("?", 1)[0]
        for k in (0, 1, 2, args.ported // 2, args.ported - 1):
            url = f"{base}?msisdn={number(k, args.stride)}&nocache"
            errors += expect(url, DEMO, 200, f"result=OK;imsi={plmn(k)}")
        url = f"{base}?msisdn={unknown_number(0, args.stride)}&nocache"
        status, body = get(url, DEMO)
        print(
            f"probe: unknown number {unknown_number(0, args.stride)} -> {status} {body!r}",
            file=sys.stderr,
        )
    for error in errors:
        print(f"probe: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
