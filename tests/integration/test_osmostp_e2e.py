"""End to end through a real osmo-stp: HTTP -> numlookup -> IPA -> osmo-stp -> IPA -> hlr-sim.

osmo-stp (tests/support/osmostp.py) has two IPA ASes: `numlookup` (point code 0.0.1,
the unit name of numlookup's IPA link) and `hlrsim` (0.0.2, the simulator's unit
name). IPA carries bare SCCP, so the STP stamps each message with its AS's point
code and `point-code override dpc`, and routes it to the other AS by point code: the
SRI-SM Begin reaches the simulator and its answer comes back, SCCP byte for byte.
The simulator has no M3UA listener here (`--listen ''`): IPA is its only way in.
"""

from __future__ import annotations

import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numlookup.realtime.links import IpaLink
from tests.integration.serverproc import NUMLOOKUP, START_TIMEOUT, ServerProcess
from tests.support.osmostp import LOOPBACK, OsmoStp, osmo_stp_fixture

pytestmark = pytest.mark.integration

RT = ("demo-rt", "demo")
HLRSIM_UNIT = "hlrsim"  # numlookup.hlrsim.server.IpaSide's unit name

osmo_stp = osmo_stp_fixture(scope="module")


class IpaHlrSim:
    """`numlookup hlr-sim` as an IPA client of an STP, with no M3UA listener."""

    def __init__(self, work_dir: Path, ipa_port: int) -> None:
        self.work_dir = work_dir
        self.ipa = f"{LOOPBACK}:{ipa_port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_line = ""
        self.log_path = work_dir / "hlr-sim.log"

    def start(self) -> IpaHlrSim:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*NUMLOOKUP, "hlr-sim", "--listen", "", "--ipa", self.ipa],
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.work_dir,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        self.ready_line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not self.ready_line.startswith("hlr-sim listening"):
            self.stop()
            raise RuntimeError(
                f"hlr-sim did not start: {self.ready_line!r}\n{self.log_path.read_text()}"
            )
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        return code


@pytest.fixture(scope="module")
def hlrsim(osmo_stp: OsmoStp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpaHlrSim]:
    sim = IpaHlrSim(tmp_path_factory.mktemp("hlrsim"), osmo_stp.ipa_port).start()
    yield sim
    assert sim.stop() == 0


@pytest.fixture(scope="module")
def server(
    osmo_stp: OsmoStp, hlrsim: IpaHlrSim, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    peer = f"ipa://{LOOPBACK}:{osmo_stp.ipa_port}"
    env = {
        "NUMLOOKUP_REALTIME_PEERS": peer,
        "NUMLOOKUP_REALTIME_INVOKE_TIMEOUT": "3",
        "NUMLOOKUP_REALTIME_DEADLINE": "5",
    }
    proc = ServerProcess(tmp_path_factory.mktemp("rt"), env=env).start()
    try:
        osmo_stp.wait_as_active(IpaLink.UNIT_NAME, HLRSIM_UNIT, timeout=10.0)
        wait_link_active(proc)
    except BaseException:
        proc.stop()
        raise
    yield proc
    assert proc.stop() == 0


def wait_link_active(proc: ServerProcess, timeout: float = 5.0) -> None:
    """The STP shows the ASP active a moment before numlookup's side of IPA is."""
    deadline = time.monotonic() + timeout
    body = b""
    while time.monotonic() < deadline:
        body = proc.get("/lookup?msisdn=46708100100&nocache", *RT)[1]
        if body != b"result=HLR_LOCAL_CANCEL":  # no active link yet
            return
        time.sleep(0.05)
    raise AssertionError(f"numlookup's IPA link did not become active: {body!r}")


def test_hlr_sim_without_m3ua_prints_its_ipa_peer(osmo_stp: OsmoStp, hlrsim: IpaHlrSim) -> None:
    assert hlrsim.ready_line == f"hlr-sim listening ipa={LOOPBACK}:{osmo_stp.ipa_port}"


def test_both_ases_are_active(osmo_stp: OsmoStp, server: ServerProcess) -> None:
    assert osmo_stp.as_states() == {IpaLink.UNIT_NAME: "AS_ACTIVE", HLRSIM_UNIT: "AS_ACTIVE"}


@pytest.mark.parametrize(
    ("msisdn", "body"),
    [
        ("46708100100", b"result=OK;imsi=24008;location=46"),
        ("46708100006", b"result=ABSENT_SUBSCRIBER_SM"),
        ("358401234567", b"result=OK;imsi=24491;location=358"),  # v3 refused, then v2
    ],
)
def test_sri_sm_through_osmo_stp(server: ServerProcess, msisdn: str, body: bytes) -> None:
    assert server.get(f"/lookup?msisdn={msisdn}&nocache", *RT) == (200, body)
