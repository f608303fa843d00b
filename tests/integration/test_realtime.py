"""Real-time lookups through the whole stack: HTTP -> numlookup -> M3UA/TCP -> hlr-sim."""

from __future__ import annotations

import concurrent.futures
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.serverproc import HlrSimProcess, ServerProcess

pytestmark = pytest.mark.integration

RT = ("demo-rt", "demo")


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HlrSimProcess]:
    sim = HlrSimProcess(tmp_path_factory.mktemp("hlr")).start()
    yield sim
    assert sim.stop() == 0


def realtime_server(work: Path, *peers: str, **settings: str) -> ServerProcess:
    env = {"NUMLOOKUP_REALTIME_PEERS": ",".join(peers), "NUMLOOKUP_RELOAD_INTERVAL": "0.2"}
    env.update({f"NUMLOOKUP_REALTIME_{k.upper()}": v for k, v in settings.items()})
    return ServerProcess(work, env=env).start()


@pytest.fixture(scope="module")
def server(hlr: HlrSimProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = realtime_server(
        tmp_path_factory.mktemp("rt"), hlr.peer, invoke_timeout="3", deadline="5"
    )
    wait_until_answering(proc)
    yield proc
    assert proc.stop() == 0


def wait_until_answering(proc: ServerProcess, timeout: float = 15.0) -> None:
    """The link comes up just after the server starts: wait for the first real answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.get("/lookup?msisdn=46708100100&nocache", *RT)[1].startswith(b"result=OK"):
            return
        time.sleep(0.1)
    raise AssertionError("the real-time link did not come up")


@pytest.mark.parametrize(
    ("msisdn", "body"),
    [
        ("46708100100", b"result=OK;imsi=24008;location=46"),
        ("46708100200", b"result=OK;imsi=24004;location=46"),
        ("46708100300", b"result=OK;imsi=24008;location=49"),  # roaming in Germany
        ("46708100404", b"result=UNKNOWN_SUBSCRIBER"),
        ("819012345678", b"result=UNKNOWN_SUBSCRIBER"),  # no rule at the HLR
        ("46708100006", b"result=ABSENT_SUBSCRIBER_SM"),
        ("46708100027", b"result=ABSENT_SUBSCRIBER_SM"),  # MAP absentSubscriber (27)
        ("46708100011", b"result=TELE_SERVICE_NOT_PROVISIONED"),
        ("46708100013", b"result=CALL_BARRED"),
        ("46708100021", b"result=FACILITY_NOT_SUPPORTED"),
        ("46708100034", b"result=SYSTEM_FAILURE"),
        ("46708100035", b"result=DATA_MISSING"),
        ("46708100036", b"result=UNEXPECTED_DATA_VALUE"),
        ("46708100902", b"result=HLR_REJECT"),
        ("46708100901", b"result=HLR_ABORT"),
        ("46708100900", b"result=HLR_LOCAL_CANCEL"),  # no answer: the invoke timer runs out
        ("358401234567", b"result=OK;imsi=24491;location=358"),  # v3 refused, v2 answered
    ],
)
def test_each_hlr_behaviour_gives_its_result(
    server: ServerProcess, msisdn: str, body: bytes
) -> None:
    assert server.get(f"/lookup?msisdn={msisdn}&nocache", *RT) == (200, body)


def test_real_time_answers_are_cached_per_service(server: ServerProcess) -> None:
    assert server.get("/lookup?msisdn=46708100101", *RT)[1] == b"result=OK;imsi=24008;location=46"
    # The portability account asks its own service for the same number.
    assert server.get("/lookup?msisdn=46708100101")[1] == b"result=OK;imsi=24008"


def test_the_deadline_gives_timeout(hlr: HlrSimProcess, tmp_path: Path) -> None:
    proc = realtime_server(tmp_path / "t", hlr.peer, invoke_timeout="5", deadline="0.5")
    try:
        wait_until_answering(proc)
        assert proc.get("/lookup?msisdn=46708100900", *RT)[1] == b"result=TIMEOUT"
    finally:
        assert proc.stop() == 0


def test_no_association_is_local_cancel(tmp_path: Path) -> None:
    import socket

    with socket.socket() as placeholder:  # a port where nothing listens
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    proc = realtime_server(tmp_path / "n", f"m3ua-tcp://127.0.0.1:{port}")
    try:
        assert proc.get("/lookup?msisdn=46708100100", *RT)[1] == b"result=HLR_LOCAL_CANCEL"
    finally:
        assert proc.stop() == 0


def test_ongoing_limit_through_http(hlr: HlrSimProcess, server: ServerProcess) -> None:
    done = server.cli(
        "account", "add", "rt2", "--password", "pw", "--service", "realtime", "--max-ongoing", "2"
    )
    assert done.returncode == 0, done.stderr
    server.wait_for(
        "/lookup?msisdn=46708100100&nocache", b"result=OK;imsi=24008;location=46", "rt2", "pw"
    )
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        slow = [
            pool.submit(server.get, "/lookup?msisdn=46708100903&nocache", "rt2", "pw")
            for _ in range(2)
        ]
        time.sleep(0.5)  # both are waiting on the HLR's 2 s delay
        third = server.get("/lookup?msisdn=46708100100&nocache", "rt2", "pw")
        answers = [f.result() for f in slow]
    assert third == (200, b"result=REQUEST_THROTTLED")
    assert answers == [(200, b"result=OK;imsi=24008;location=46")] * 2


def test_failover_to_the_backup_and_lost_dialogues_answered(tmp_path: Path) -> None:
    primary = HlrSimProcess(tmp_path / "p").start()
    backup = HlrSimProcess(tmp_path / "b").start()
    proc = realtime_server(
        tmp_path / "s", primary.peer, backup.peer, reconnect_min="0.2", heartbeat_interval="0.5"
    )
    try:
        wait_until_answering(proc)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(proc.get, "/lookup?msisdn=46708100903&nocache", *RT)
            time.sleep(0.5)
            primary.stop(signal.SIGKILL)
            # The dialogue on the lost link is answered at once, not left to hang.
            assert in_flight.result(timeout=5) == (200, b"result=HLR_LOCAL_CANCEL")
        proc.wait_for(
            "/lookup?msisdn=46708100100&nocache", b"result=OK;imsi=24008;location=46", *RT
        )
    finally:
        assert proc.stop() == 0
        backup.stop()
