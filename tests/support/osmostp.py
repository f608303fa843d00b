"""A real osmo-stp for integration tests: SCCP between IPA clients, routed by point code.

    osmo_stp = osmo_stp_fixture()                  # in a test module or conftest.py

    def test_x(osmo_stp: OsmoStp) -> None:
        ...connect IPA clients "numlookup" and "hlrsim" to ("127.0.0.1", osmo_stp.ipa_port)
        osmo_stp.wait_as_active("numlookup", "hlrsim")
        ...SCCP sent by one arrives, byte for byte, at the other

The configuration (osmo-stp 1.6.0, libosmo-sigtran 1.6.0, Debian 12)
--------------------------------------------------------------------
``config_text`` holds the file written for a run; for the default two ASes it is::

    cs7 instance 0
     as numlookup ipa
      routing-key 0 0.0.1
      point-code override dpc 0.0.2
      point-code override patch-sccp disabled
     as hlrsim ipa
      routing-key 0 0.0.2
      point-code override dpc 0.0.1
      point-code override patch-sccp disabled
     route-table system
      update route 0.0.1 7.255.7 linkset numlookup
      update route 0.0.2 7.255.7 linkset hlrsim
     listen ipa <free port>
      local-ip 127.0.0.1
      accept-asp-connections dynamic-permitted

* IPA carries bare SCCP (stream 0xFD) with no MTP3 routing label, so each AS supplies
  one: a message from AS ``numlookup`` gets OPC = its routing-key point code (0.0.1)
  and DPC = its ``point-code override dpc`` (0.0.2). The route table sends DPC 0.0.2 to
  the AS ``hlrsim``, and back. Point codes are ITU 14-bit in the default 3.8.3 format,
  so a host route has mask 7.255.7. ``patch-sccp disabled`` (the default, spelled out)
  keeps the SCCP bytes untouched: they are relayed byte for byte.
* An IPA client has no pre-configured ASP: ``accept-asp-connections
  dynamic-permitted`` creates one per connection (``asp-dyn-N``) and puts it in the AS
  whose *name* equals the IPA unit name the client sends in its identity response
  (CCM ID_RESP, tag 0x01; with or without a trailing NUL). An unknown unit name is
  logged ("Cannot find any definition for IPA Unit Name") and the connection closed.
* The IPA handshake on stream 0xFE: the STP sends ID_GET, the client answers ID_RESP,
  the STP sends ID_ACK, the client answers ID_ACK; then the ASP is ACTIVE. Traffic
  toward an AS with no active ASP is dropped, so wait for both sides with
  :meth:`OsmoStp.wait_as_active` (it asks the VTY ``show cs7 instance 0 as all``)
  before sending. The STP answers a CCM PING (0x00) with a PONG (0x01).

Quirks of osmo-stp 1.6.0
------------------------
* Its VTY (telnet) always listens on port 4239: the port in ``bind 127.0.0.1 PORT`` is
  ignored (the address is honoured), and a second osmo-stp exits with "Error binding
  VTY port". So only one can run at a time on a host: :class:`OsmoStp` takes an
  exclusive lock file in the temporary directory for the life of the process (other
  test runs on the same host wait for it, bounded), and refuses a second instance in
  the same Python process at once. The VTY port actually used is read from the log
  ("Available via telnet 127.0.0.1 4239"), so a newer osmo-stp that honours the port
  gets the free one we write.
* If the IPA port cannot be bound, osmo-stp logs "Unable to bind xUA server" and keeps
  running without the listener; :meth:`OsmoStp.start` detects that and retries on a new
  port.
* No M3UA over TCP in this version (``listen m3ua`` is SCTP only), hence IPA here.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import pytest

LOOPBACK = "127.0.0.1"
OSMO_STP_VTY_PORT = 4239  # fixed in osmo-stp 1.6.0 (OSMO_VTY_PORT_STP)
VTY_PROMPT = b"OsmoSTP> "
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
LOCK_TIMEOUT = 60.0
START_ATTEMPTS = 3
LOCK_PATH = Path(tempfile.gettempdir()) / f"osmo-stp-vty-{OSMO_STP_VTY_PORT}.lock"

_READY = re.compile(r"Available via telnet (\S+) (\d+)")
_IPA_BIND_FAILED = "Unable to bind xUA server"
_VTY_BIND_FAILED = "Error binding VTY port"

Scope = Literal["session", "package", "module", "class", "function"]


@dataclass(frozen=True)
class IpaAs:
    """An application server reached over IPA: its unit name and point codes."""

    name: str  # AS name = the IPA unit name its clients announce
    point_code: str  # its own point code: the routing key, and OPC of what it sends
    peer_point_code: str  # DPC stamped on everything it sends (point-code override dpc)


DEFAULT_ASES: tuple[IpaAs, ...] = (
    IpaAs("numlookup", "0.0.1", "0.0.2"),
    IpaAs("hlrsim", "0.0.2", "0.0.1"),
)


class OsmoStpError(RuntimeError):
    """osmo-stp is missing, did not start, or did not answer in time."""


class OsmoStp:
    """One osmo-stp process with a generated config, listening for IPA on a free port."""

    _running_in_process = threading.Lock()

    def __init__(
        self,
        workdir: Path | None = None,
        ases: Sequence[IpaAs] = DEFAULT_ASES,
        log_level: str = "info",
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.ases = tuple(ases)
        self.log_level = log_level
        self.start_timeout = start_timeout
        # Without a workdir, start() makes a temporary one and stop() removes it.
        self.workdir = workdir
        self._temp_workdir: Path | None = None
        self.ipa_port = 0
        self.vty_port = 0
        self.config_text = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock_file: IO[bytes] | None = None
        self._holds_process_lock = False

    # ------------------------------------------------------------ lifecycle

    def start(self) -> OsmoStp:
        if self.proc is not None:
            raise OsmoStpError("osmo-stp is already started")
        binary = shutil.which("osmo-stp")
        if binary is None:
            raise OsmoStpError(
                "osmo-stp is not installed: the IPA tests need it "
                "(Debian package 'osmo-stp'; .ci/run installs it)"
            )
        try:
            self._lock()
            if self.workdir is None:
                self.workdir = self._temp_workdir = Path(tempfile.mkdtemp(prefix="osmo-stp-"))
            for _ in range(START_ATTEMPTS):
                if self._start_once(binary):
                    return self
            raise OsmoStpError(f"could not bind an IPA port in {START_ATTEMPTS} tries")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a bounded wait. Returns the exit status, if any."""
        code = self._terminate()
        self._unlock()
        if self._temp_workdir is not None:
            shutil.rmtree(self._temp_workdir, ignore_errors=True)
            self._temp_workdir = self.workdir = None
        return code

    def __enter__(self) -> OsmoStp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ queries

    @property
    def config_path(self) -> Path:
        return self._dir() / "osmo-stp.cfg"

    @property
    def log_path(self) -> Path:
        return self._dir() / "osmo-stp.log"

    def log_text(self) -> str:
        if self.workdir is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def vty(self, command: str, timeout: float = 5.0) -> str:
        """Run one VTY command (view mode) and return its output without the echo."""
        if self.proc is None or not self.vty_port:
            raise OsmoStpError("osmo-stp is not running")
        with socket.create_connection((LOOPBACK, self.vty_port), timeout=timeout) as sock:
            buffer = _read_until(sock, VTY_PROMPT, b"")[1]
            sock.sendall(command.encode() + b"\r\n")
            output, _ = _read_until(sock, VTY_PROMPT, buffer)
        text = output.decode(errors="replace").replace("\r", "")
        first, _, rest = text.partition("\n")
        return rest if command in first else text

    def as_states(self) -> dict[str, str]:
        """AS name -> state (AS_ACTIVE, AS_INACTIVE, AS_DOWN, ...) from the VTY."""
        states: dict[str, str] = {}
        names = {a.name for a in self.ases}
        for line in self.vty("show cs7 instance 0 as all").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in names:
                states[parts[0]] = parts[1]
        return states

    def wait_as_active(self, *names: str, timeout: float = 5.0) -> None:
        """Block until every named AS (all by default) has an active ASP."""
        wanted = names or tuple(a.name for a in self.ases)
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.as_states()
            if all(states.get(name) == "AS_ACTIVE" for name in wanted):
                return
            time.sleep(0.02)
        raise OsmoStpError(f"AS not active after {timeout} s: {states}\n{self._log_tail()}")

    # ------------------------------------------------------------ config

    def render_config(self, ipa_port: int, vty_port: int) -> str:
        lines = [
            "! osmo-stp for numlookup tests: SCCP between IPA clients, routed by point code",
            "log stderr",
            " logging filter all 1",
            " logging color 0",
            " logging print category 1",
            " logging print level 1",
            " logging print file basename",
            " logging timestamp 0",
            " logging print extended-timestamp 1",
            " logging level set-all notice",
            f" logging level lss7 {self.log_level}",
            f" logging level lsccp {self.log_level}",
            "line vty",
            " no login",
            "! osmo-stp 1.6.0 ignores this port and always uses 4239",
            f" bind {LOOPBACK} {vty_port}",
            "cs7 instance 0",
        ]
        for a in self.ases:
            lines += [
                f" as {a.name} ipa",
                f"  routing-key 0 {a.point_code}",
                f"  point-code override dpc {a.peer_point_code}",
                "  point-code override patch-sccp disabled",
            ]
        lines.append(" route-table system")
        lines += [f"  update route {a.point_code} 7.255.7 linkset {a.name}" for a in self.ases]
        lines += [
            f" listen ipa {ipa_port}",
            f"  local-ip {LOOPBACK}",
            "  accept-asp-connections dynamic-permitted",
        ]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ internals

    def _start_once(self, binary: str) -> bool:
        self.ipa_port = _free_port()
        self.config_text = self.render_config(self.ipa_port, _free_port())
        self.config_path.write_text(self.config_text)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in _terminate()
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.config_path)],
            cwd=self._dir(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            log = self.log_text()
            if self.proc.poll() is not None:
                if _VTY_BIND_FAILED in log:
                    raise OsmoStpError(
                        f"osmo-stp could not bind its VTY port ({OSMO_STP_VTY_PORT} is fixed "
                        "in osmo-stp 1.6.0): another osmo-stp, e.g. a system service, holds "
                        f"it\n{self._log_tail()}"
                    )
                raise OsmoStpError(
                    f"osmo-stp exited with {self.proc.returncode}\n{self._log_tail()}"
                )
            if _IPA_BIND_FAILED in log:
                self._terminate()
                return False
            ready = _READY.search(log)
            if ready and _accepts(self.ipa_port):
                self.vty_port = int(ready.group(2))
                return True
            time.sleep(0.01)
        raise OsmoStpError(
            f"osmo-stp did not listen on IPA port {self.ipa_port} within "
            f"{self.start_timeout} s\n{self._log_tail()}"
        )

    def _terminate(self) -> int | None:
        code: int | None = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(STOP_TIMEOUT)
            code = self.proc.returncode
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.vty_port = 0
        return code

    def _lock(self) -> None:
        if not OsmoStp._running_in_process.acquire(blocking=False):
            raise OsmoStpError(
                "an osmo-stp is already running in this process; osmo-stp 1.6.0 binds "
                f"its VTY on the fixed port {OSMO_STP_VTY_PORT}, so only one can run"
            )
        self._holds_process_lock = True
        self._lock_file = open(LOCK_PATH, "ab")  # noqa: SIM115 - closed in _unlock()
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._unlock()
                    raise OsmoStpError(
                        f"another osmo-stp test run held {LOCK_PATH} for {LOCK_TIMEOUT} s"
                    ) from None
                time.sleep(0.05)

    def _unlock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
        if self._holds_process_lock:
            self._holds_process_lock = False
            OsmoStp._running_in_process.release()

    def _dir(self) -> Path:
        if self.workdir is None:
            raise OsmoStpError("osmo-stp has no working directory before start()")
        return self.workdir

    def _log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def osmo_stp_fixture(
    *, scope: Scope = "function", name: str = "osmo_stp", **options: Any
) -> Callable[..., Any]:
    """A pytest fixture (named `name`) yielding a started :class:`OsmoStp`.

    Assign it at module level of a test module or conftest.py:
    ``osmo_stp = osmo_stp_fixture(scope="module")``. `options` go to :class:`OsmoStp`.
    """

    @pytest.fixture(scope=scope, name=name)
    def _osmo_stp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmoStp]:
        stp = OsmoStp(tmp_path_factory.mktemp("osmo-stp"), **options).start()
        try:
            yield stp
        finally:
            stp.stop()

    return _osmo_stp


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def _read_until(sock: socket.socket, token: bytes, buffer: bytes) -> tuple[bytes, bytes]:
    """Read until `token`: (what came before it, what came after it)."""
    while token not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            raise OsmoStpError(f"VTY closed the connection: {buffer[-200:]!r}")
        buffer += chunk
    before, _, after = buffer.partition(token)
    return before, after
