"""Bad input from the network: a misbehaving signalling gateway in front of a real HLR.

`MisbehavingGateway` is a named test peer: a real TCP server speaking M3UA
(the SGP side of numlookup.ss7.m3ua_asp), handing DATA to the simulator's HLR
like hlr-sim does, and able to inject what a broken or hostile peer sends.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numlookup.hlrsim.hlr import Hlr
from numlookup.hlrsim.subscribers import parse
from numlookup.ss7 import m3ua, sccp, tcap
from numlookup.ss7.m3ua_asp import SgpServer
from tests.integration.serverproc import ServerProcess

pytestmark = pytest.mark.integration

RT = ("demo-rt", "demo")
OK = b"result=OK;imsi=24008;location=46"
TABLE = parse("4670810,ok,240080000000000,46708999001,\n")
OURS = sccp.SccpAddress("46700000001", 8)
THEIRS = sccp.SccpAddress("46708999999", 6)


class MisbehavingGateway:
    def __init__(self, ignore_asp_ups: int = 0) -> None:
        self.ignore_asp_ups = ignore_asp_ups
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hlr = Hlr(TABLE, "46708999999")
        self.received: queue.Queue[m3ua.Message] = queue.Queue()
        self.conn: socket.socket | None = None
        self.last_data: m3ua.Data | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(30)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.conn = conn
        sgp = SgpServer()
        framer = m3ua.StreamFramer()
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            for raw in framer.feed(chunk):
                message = m3ua.decode(raw)
                self.received.put(message)
                if isinstance(message, m3ua.AspUp) and self.ignore_asp_ups > 0:
                    self.ignore_asp_ups -= 1  # as if it were lost on the way
                    continue
                for out in sgp.receive(message):
                    self.send(m3ua.encode(out))
                for data in sgp.take_delivered():
                    self.last_data = data
                    for reply in self.hlr.handle(data.protocol_data.data):
                        self.send(self.wrap(reply.data))

    def wrap(self, sccp_bytes: bytes) -> bytes:
        pd = self.last_data.protocol_data if self.last_data else None
        return m3ua.encode(
            m3ua.Data(
                m3ua.ProtocolData(pd.dpc if pd else 2, pd.opc if pd else 1, 3, 0, 0, 0, sccp_bytes),
                routing_context=1,
            )
        )

    def send(self, data: bytes) -> None:
        assert self.conn is not None
        with self.lock:
            self.conn.sendall(data)

    def wait_for(self, kind: type, timeout: float = 10.0) -> m3ua.Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.received.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(message, kind):
                return message
        raise AssertionError(f"no {kind.__name__} from numlookup")

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()

    def close(self) -> None:
        self.listener.close()
        if self.conn is not None:
            self.conn.close()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[MisbehavingGateway, ServerProcess]]:
    peer = MisbehavingGateway()
    proc = ServerProcess(
        tmp_path_factory.mktemp("bad"),
        env={"NUMLOOKUP_REALTIME_PEERS": f"m3ua-tcp://127.0.0.1:{peer.port}"},
    ).start()
    deadline = time.monotonic() + 15
    while proc.get("/lookup?msisdn=46708100100&nocache", *RT)[1] != OK:
        assert time.monotonic() < deadline, "the association did not come up"
        time.sleep(0.1)
    yield peer, proc
    assert proc.stop() == 0
    peer.close()


def still_answering(proc: ServerProcess) -> None:
    assert proc.get("/lookup?msisdn=46708100101&nocache", *RT) == (200, OK)


def test_an_unknown_m3ua_class_gets_err_and_the_association_stays(
    gateway: tuple[MisbehavingGateway, ServerProcess],
) -> None:
    peer, proc = gateway
    peer.drain()
    peer.send(bytes([1, 0, 7, 1, 0, 0, 0, 8]))  # version 1, class 7 (reserved)
    error = peer.wait_for(m3ua.Error)
    assert isinstance(error, m3ua.Error) and error.error_code == 0x03  # unsupported class
    peer.send(bytes([1, 0, 0, 0, 0, 0, 0, 8]))  # a malformed ERR is not answered with ERR
    still_answering(proc)


def test_garbage_sccp_and_tcap_in_data_are_dropped(
    gateway: tuple[MisbehavingGateway, ServerProcess],
) -> None:
    peer, proc = gateway
    for junk in (b"", b"\xff" * 40, sccp.encode_unitdata(OURS, THEIRS, b"\x64\x03\x49\x01")):
        peer.send(peer.wrap(junk))
    still_answering(proc)


def test_an_unknown_transaction_gets_a_p_abort(
    gateway: tuple[MisbehavingGateway, ServerProcess],
) -> None:
    peer, proc = gateway
    peer.drain()
    cont = tcap.encode(tcap.Continue(b"\x05\x06\x07\x08", b"\xde\xad\xbe\xef"))
    peer.send(peer.wrap(sccp.encode_unitdata(OURS, THEIRS, cont)))
    data = peer.wait_for(m3ua.Data)
    assert isinstance(data, m3ua.Data)
    abort = tcap.decode(sccp.decode(data.protocol_data.data).data)
    assert abort == tcap.Abort(b"\x05\x06\x07\x08", tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID)
    still_answering(proc)


def test_a_flood_of_begins_is_refused_and_keeps_no_state(
    gateway: tuple[MisbehavingGateway, ServerProcess],
) -> None:
    peer, proc = gateway
    peer.drain()
    flood = b"".join(
        peer.wrap(sccp.encode_unitdata(OURS, THEIRS, tcap.encode(tcap.Begin(n.to_bytes(4, "big")))))
        for n in range(2000)
    )
    peer.send(flood)
    refused = 0
    deadline = time.monotonic() + 20
    while refused < 2000 and time.monotonic() < deadline:
        message = peer.wait_for(m3ua.Data)
        assert isinstance(message, m3ua.Data)
        reply = tcap.decode(sccp.decode(message.protocol_data.data).data)
        assert isinstance(reply, tcap.Abort)
        refused += 1
    assert refused == 2000
    still_answering(proc)


def test_bytes_that_cannot_be_delimited_end_the_association(
    tmp_path: Path,
) -> None:
    peer = MisbehavingGateway()
    proc = ServerProcess(
        tmp_path / "s",
        env={
            "NUMLOOKUP_REALTIME_PEERS": f"m3ua-tcp://127.0.0.1:{peer.port}",
            "NUMLOOKUP_REALTIME_RECONNECT_MIN": "0.2",
        },
    ).start()
    try:
        peer.wait_for(m3ua.AspActive)
        peer.send(bytes([1, 0, 1, 1, 0, 0, 0, 3]))  # a length under the header's 8 octets
        # numlookup closes the association; nothing crashes; the lookup is answered.
        assert proc.get("/lookup?msisdn=46708100100&nocache", *RT) == (
            200,
            b"result=HLR_LOCAL_CANCEL",
        )
    finally:
        assert proc.stop() == 0
        peer.close()


def test_an_unacknowledged_asp_up_is_sent_again(tmp_path: Path) -> None:
    peer = MisbehavingGateway(ignore_asp_ups=1)
    proc = ServerProcess(
        tmp_path / "s",
        env={
            "NUMLOOKUP_REALTIME_PEERS": f"m3ua-tcp://127.0.0.1:{peer.port}",
            "NUMLOOKUP_REALTIME_HEARTBEAT_INTERVAL": "0.3",
        },
    ).start()
    try:
        peer.wait_for(m3ua.AspUp)
        peer.wait_for(m3ua.AspUp)  # T(ack) ran out: asked again
        peer.wait_for(m3ua.AspActive)
        deadline = time.monotonic() + 10
        while proc.get("/lookup?msisdn=46708100100&nocache", *RT)[1] != OK:
            assert time.monotonic() < deadline, "the association did not come up"
            time.sleep(0.1)
    finally:
        assert proc.stop() == 0
        peer.close()
