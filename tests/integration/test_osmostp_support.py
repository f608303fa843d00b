"""tests/support/osmostp.py: the generated config routes SCCP between two IPA clients.

Two minimal IPA clients, written here on purpose (not the project's IPA codec), log in
as "numlookup" and "hlrsim"; a pycrate-made SCCP UDT from one must reach the other
byte for byte, and back.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support import osmostp
from tests.support.osmostp import OsmoStp, OsmoStpError, osmo_stp_fixture
from tests.support.pycrate_sccp import sccp_udt

pytestmark = pytest.mark.integration

osmo_stp = osmo_stp_fixture()

# IPA framing: 2-octet big-endian payload length, 1-octet stream id, payload.
STREAM_SCCP = 0xFD
STREAM_CCM = 0xFE
# CCM message types (first payload octet) and the identity tag for the unit name.
CCM_PING, CCM_PONG, CCM_ID_GET, CCM_ID_RESP, CCM_ID_ACK = 0x00, 0x01, 0x04, 0x05, 0x06
IDTAG_UNIT_NAME = 0x01
TIMEOUT = 5.0


class IpaClient:
    """Just enough IPA for the test: the CCM login, PING, and SCCP frames."""

    def __init__(self, port: int, unit_name: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.unit_name = unit_name

    def login(self) -> None:
        """STP: ID_GET; we: ID_RESP(unit name); STP: ID_ACK; we: ID_ACK."""
        stream, payload = self.recv()
        assert (stream, payload[0]) == (STREAM_CCM, CCM_ID_GET)
        value = self.unit_name.encode() + b"\0"
        tag = struct.pack(">HB", len(value) + 1, IDTAG_UNIT_NAME) + value
        self.send(STREAM_CCM, bytes([CCM_ID_RESP]) + tag)
        assert self.recv() == (STREAM_CCM, bytes([CCM_ID_ACK]))
        self.send(STREAM_CCM, bytes([CCM_ID_ACK]))

    def ping(self) -> None:
        self.send(STREAM_CCM, bytes([CCM_PING]))
        assert self.recv() == (STREAM_CCM, bytes([CCM_PONG]))

    def send(self, stream: int, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">HB", len(payload), stream) + payload)

    def recv(self) -> tuple[int, bytes]:
        length, stream = struct.unpack(">HB", self._exactly(3))
        return stream, self._exactly(length)

    def recv_sccp(self) -> bytes:
        while True:
            stream, payload = self.recv()
            if stream == STREAM_SCCP:
                return payload
            if stream == STREAM_CCM and payload[:1] == bytes([CCM_PING]):
                self.send(STREAM_CCM, bytes([CCM_PONG]))

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError(f"closed after {data!r}")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


@contextmanager
def logged_in(stp: OsmoStp, unit_name: str) -> Iterator[IpaClient]:
    client = IpaClient(stp.ipa_port, unit_name)
    try:
        client.login()
        yield client
    finally:
        client.close()


def test_udt_crosses_the_stp_byte_for_byte_both_ways(osmo_stp: OsmoStp) -> None:
    request = sccp_udt(("46708100100", 6), ("46700000001", 8), bytes.fromhex("6203") + bytes(200))
    answer = sccp_udt(("46700000001", 8), ("46708100100", 6), bytes.fromhex("6403") + bytes(30))
    assert request[0] == 0x09  # UDT
    with logged_in(osmo_stp, "numlookup") as gmsc, logged_in(osmo_stp, "hlrsim") as hlr:
        osmo_stp.wait_as_active("numlookup", "hlrsim")
        gmsc.send(STREAM_SCCP, request)
        assert hlr.recv_sccp() == request
        hlr.send(STREAM_SCCP, answer)
        assert gmsc.recv_sccp() == answer
        for _ in range(3):  # several in a row, both directions
            gmsc.send(STREAM_SCCP, request)
            hlr.send(STREAM_SCCP, answer)
        assert [hlr.recv_sccp() for _ in range(3)] == [request] * 3
        assert [gmsc.recv_sccp() for _ in range(3)] == [answer] * 3


def test_as_states_follow_the_clients(osmo_stp: OsmoStp) -> None:
    assert osmo_stp.as_states() == {"numlookup": "AS_DOWN", "hlrsim": "AS_DOWN"}
    with logged_in(osmo_stp, "hlrsim") as hlr:
        hlr.ping()  # the STP has handled our ID_ACK
        assert osmo_stp.as_states()["hlrsim"] == "AS_ACTIVE"
        assert osmo_stp.as_states()["numlookup"] == "AS_DOWN"
        with pytest.raises(OsmoStpError, match="not active"):
            osmo_stp.wait_as_active("numlookup", timeout=0.2)


def test_an_unknown_unit_name_is_refused(osmo_stp: OsmoStp) -> None:
    client = IpaClient(osmo_stp.ipa_port, "stranger")
    try:
        with pytest.raises(ConnectionError):
            client.login()
            client.ping()
    finally:
        client.close()
    assert "Cannot find any definition for IPA Unit Name 'stranger'" in osmo_stp.log_text()


def test_config_text_names_the_routes(osmo_stp: OsmoStp) -> None:
    text = osmo_stp.config_text
    assert osmo_stp.config_path.read_text() == text
    assert f" listen ipa {osmo_stp.ipa_port}\n" in text
    assert "  accept-asp-connections dynamic-permitted\n" in text
    assert " as numlookup ipa\n  routing-key 0 0.0.1\n  point-code override dpc 0.0.2\n" in text
    assert " as hlrsim ipa\n  routing-key 0 0.0.2\n  point-code override dpc 0.0.1\n" in text
    assert "  update route 0.0.2 7.255.7 linkset hlrsim\n" in text
    assert "  update route 0.0.1 7.255.7 linkset numlookup\n" in text


def test_start_and_stop(tmp_path_factory: pytest.TempPathFactory) -> None:
    stp = OsmoStp(tmp_path_factory.mktemp("stp"))
    with stp:
        assert stp.proc is not None
        port = stp.ipa_port
        with pytest.raises(OsmoStpError, match="already running in this process"):
            OsmoStp().start()
    assert stp.proc is None
    assert stp.stop() is None  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    # The lock is free again: another one starts.
    with OsmoStp() as again:
        assert again.ipa_port > 0


def test_a_taken_ipa_port_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # osmo-stp 1.6.0 keeps running without the listener when the IPA port is taken.
    real_free_port = osmostp._free_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        ports = iter([taken])
        monkeypatch.setattr(osmostp, "_free_port", lambda: next(ports, None) or real_free_port())
        with OsmoStp() as stp:
            assert stp.ipa_port != taken
            with logged_in(stp, "numlookup") as client:
                client.ping()


def test_missing_osmo_stp_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OsmoStpError, match="not installed"):
        OsmoStp().start()
