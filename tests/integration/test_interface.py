"""The wire contract against the real server process."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from tests.integration.serverproc import ServerProcess, split_response, split_responses

pytestmark = pytest.mark.integration

CURL = shutil.which("curl")


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None, "curl is installed by .ci/run"
    return subprocess.run([CURL, "-sS", "-v", *args], capture_output=True, timeout=30)


@pytest.mark.parametrize("tls", [False, True])
def test_the_spec_curl_example_byte_for_byte(server: ServerProcess, tls: bool) -> None:
    host, port = server.https if tls else server.http
    scheme = "https" if tls else "http"
    done = curl("-k", "-u", "demo:demo", f"{scheme}://{host}:{port}/lookup?msisdn=46708100200")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"result=OK;imsi=24004"
    trace = done.stderr.decode()
    assert "< HTTP/1.1 200 OK, Success" in trace
    assert "< Content-Length: 20" in trace
    assert "< Content-Type: text/plain; charset=ISO-8859-1" in trace
    assert "< Date: " in trace


def test_credentials_in_the_url_user_info(server: ServerProcess) -> None:
    host, port = server.http
    done = curl(f"http://demo:demo@{host}:{port}/lookup?msisdn=46708100100")
    assert done.stdout == b"result=OK;imsi=24008"


def test_the_spec_examples(server: ServerProcess) -> None:
    assert server.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    assert server.get("/lookup?msisdn=46708100200") == (200, b"result=OK;imsi=24004")
    assert server.get("/lookup?msisdn=46708100100&nocache") == (200, b"result=OK;imsi=24008")


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/lookup", b"result=Mandatory parameter msisdn not found"),
        ("/lookup?", b"result=Mandatory parameter msisdn not found"),
        ("/lookup?msisdn=", b"result=Mandatory parameter msisdn not found"),
        ("/lookup?nocache&other=1", b"result=Mandatory parameter msisdn not found"),
        ("/lookup?msisdn=abc", b"result=msisdn is invalid"),
        ("/lookup?msisdn=4670810010012345", b"result=msisdn is invalid"),
        ("/lookup?msisdn=467", b"result=msisdn is invalid"),
        ("/lookup?msisdn=46708100100&msisdn=46708100200", b"result=msisdn is invalid"),
        ("/lookup?msisdn=%ZZ46708100100", b"result=msisdn is invalid"),
        ("/lookup?msisdn=%FF%FE", b"result=msisdn is invalid"),
        ("/lookup?msisdn=%C3%A46708100100", b"result=msisdn is invalid"),
        ("/lookup?msisdn=++46708100100", b"result=msisdn is invalid"),
        ("/lookup?msisdn=46708100100&msisdn=46708100100", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=%2B46708100100", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=+46708100100", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=0046708100100", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=46708100100&nocache=", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=46708100100&nocache=1", b"result=OK;imsi=24008"),
        ("/lookup?msisdn=819012345678", b"result=UNKNOWN_SUBSCRIBER"),
    ],
)
def test_answers_to_parameters(server: ServerProcess, target: str, body: bytes) -> None:
    assert server.get(target) == (200, body)


def test_non_ascii_bytes_in_the_target(server: ServerProcess) -> None:
    status, body = split_response(
        server.raw(
            b"GET /lookup?msisdn=4670\xc3\xa48100100 HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Basic ZGVtbzpkZW1v\r\nConnection: close\r\n\r\n"
        )
    )
    # Raw non-ASCII is not allowed in a request-target (RFC 9112 §3.2, RFC 3986 §2).
    assert (status, body) == (400, b"400 Bad Request\n")


def test_an_upgrade_request_is_answered_and_the_connection_ended(server: ServerProcess) -> None:
    answer = server.raw(
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\nnot http any more"
    )
    assert [(s, b) for s, _, b in split_responses(answer)] == [(200, b"result=OK;imsi=24008")]


def test_a_chunked_body_is_read_and_ignored(server: ServerProcess) -> None:
    answer = server.raw(
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        b"GET /lookup?msisdn=46708100200 HTTP/1.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert [b for _, _, b in split_responses(answer)] == [
        b"result=OK;imsi=24008",
        b"result=OK;imsi=24004",
    ]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        b"Basic ZGVtbzp3cm9uZw==",  # demo:wrong
        b"Basic bm9ib2R5OmRlbW8=",  # nobody:demo
        b"Basic !!!notbase64",
        b"Basic ZGVtb2RlbW8=",  # demodemo: no colon
        b"Bearer abc",
        b"Basic",
    ],
)
def test_unauthorized(server: ServerProcess, authorization: bytes | None) -> None:
    header = b"Authorization: " + authorization + b"\r\n" if authorization is not None else b""
    answer = server.raw(
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n"
        + header
        + b"Connection: close\r\n\r\n"
    )
    [(status, headers, _)] = split_responses(answer)
    assert status == 401
    assert headers[b"www-authenticate"] == b'Basic realm="numlookup"'


def test_absolute_form_with_user_info(server: ServerProcess) -> None:
    answer = server.raw(
        b"GET http://demo:demo@example.com:3700/lookup?msisdn=46708100100 HTTP/1.1\r\n"
        b"Host: example.com\r\nConnection: close\r\n\r\n"
    )
    assert split_response(answer) == (200, b"result=OK;imsi=24008")


def test_other_paths_and_methods(server: ServerProcess) -> None:
    assert server.get("/")[0] == 404
    assert server.get("/lookup/")[0] == 404
    assert server.get("/status")[0] == 404
    answer = server.raw(
        b"POST /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic ZGVtbzpkZW1v\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    [(status, headers, _)] = split_responses(answer)
    assert status == 405
    assert headers[b"allow"] == b"GET"


def test_keep_alive_and_pipelining(server: ServerProcess) -> None:
    one = (
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic ZGVtbzpkZW1v\r\n\r\n"
    )
    two = one.replace(b"46708100100", b"46708100200")
    bad = one.replace(b"46708100100", b"x")
    last = two.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    answers = split_responses(server.raw(one + two + bad + b"GET /nope HTTP/1.1\r\n\r\n" + last))
    assert [(s, b) for s, _, b in answers] == [
        (200, b"result=OK;imsi=24008"),
        (200, b"result=OK;imsi=24004"),
        (200, b"result=msisdn is invalid"),
        (404, b"404 Not Found\n"),
        (200, b"result=OK;imsi=24004"),
    ]
    assert answers[-1][1][b"connection"] == b"close"


def test_pipelined_requests_one_byte_at_a_time(server: ServerProcess) -> None:
    request = (
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic ZGVtbzpkZW1v\r\n\r\n"
    ) * 3
    with server.connect() as sock:
        for byte in request:
            sock.sendall(bytes([byte]))
        sock.sendall(
            b"GET /lookup HTTP/1.1\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n"
            b"Connection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    bodies = [b for _, _, b in split_responses(data)]
    assert bodies == [b"result=OK;imsi=24008"] * 3 + [
        b"result=Mandatory parameter msisdn not found"
    ]


def test_http10_without_host(server: ServerProcess) -> None:
    answer = server.raw(
        b"GET /lookup?msisdn=46708100100 HTTP/1.0\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n\r\n"
    )
    [(status, headers, body)] = split_responses(answer)
    assert (status, body) == (200, b"result=OK;imsi=24008")
    assert headers[b"connection"] == b"close"


def test_http10_keep_alive_is_honoured(server: ServerProcess) -> None:
    request = (
        b"GET /lookup?msisdn=46708100100 HTTP/1.0\r\nConnection: keep-alive\r\n"
        b"Authorization: Basic ZGVtbzpkZW1v\r\n\r\n"
    )
    with server.connect() as sock:
        sock.sendall(request)
        data = sock.recv(65536)
        assert b"Connection: keep-alive" in data
        sock.sendall(request.replace(b"keep-alive", b"close"))
        data = sock.recv(65536)
        assert data.endswith(b"result=OK;imsi=24008")


def test_huge_request_target_is_414(server: ServerProcess) -> None:
    answer = server.raw(b"GET /lookup?msisdn=" + b"4" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert split_response(answer)[0] == 414


def test_huge_headers_are_431(server: ServerProcess) -> None:
    big = b"X-Big: " + b"a" * 20000 + b"\r\n"
    answer = server.raw(b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert split_response(answer)[0] == 431
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(200))
    answer = server.raw(b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert split_response(answer)[0] == 431


def test_a_body_too_large_is_413(server: ServerProcess) -> None:
    answer = server.raw(
        b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        + b"x" * 100000
    )
    assert split_response(answer)[0] == 413


def test_garbage_is_400(server: ServerProcess) -> None:
    assert split_response(server.raw(b"\x16\x03\x01\x02\x00garbage\r\n\r\n"))[0] == 400
    assert split_response(server.raw(b"GET / HTTP/9.9\r\n\r\n"))[0] in (400, 505)


def test_a_stalled_half_request_gets_408_and_is_closed(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /lookup?msisdn=4670810")
        data = b""
        while chunk := sock.recv(65536):  # the server closes; the socket's 10 s timeout guards
            data += chunk
    assert split_response(data)[0] == 408


def test_a_silent_connection_is_closed(server: ServerProcess) -> None:
    with server.connect() as sock:
        data = sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 408")
        assert sock.recv(65536) == b""


def test_a_client_that_never_finishes_the_tls_handshake_is_dropped(server: ServerProcess) -> None:
    import socket

    host, port = server.https
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        try:
            data = sock.recv(65536)  # the server gives up after request_timeout (2 s here)
        except ConnectionResetError:
            data = b""
    assert data == b""


def test_https_with_an_http_client(server: ServerProcess) -> None:
    host, port = server.https
    with httpx.Client(verify=False, auth=("demo", "demo")) as client:
        for _ in range(3):
            response = client.get(f"https://{host}:{port}/lookup", params={"msisdn": "46708100100"})
            assert response.status_code == 200
            assert response.content == b"result=OK;imsi=24008"
            assert response.headers["content-type"] == "text/plain; charset=ISO-8859-1"


def test_plain_http_to_the_tls_port_is_refused_cleanly(server: ServerProcess) -> None:
    host, port = server.https
    import socket

    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
    assert b"result=" not in data
    # The server is still fine.
    assert server.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
