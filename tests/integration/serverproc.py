"""A real `numlookup serve` process on free loopback ports, for integration tests."""

from __future__ import annotations

import base64
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

NUMLOOKUP = [sys.executable, "-m", "numlookup"]
START_TIMEOUT = 30.0


class ServerProcess:
    def __init__(self, var_dir: Path, env: dict[str, str] | None = None) -> None:
        self.var_dir = var_dir
        self.env = {
            **os.environ,
            "NUMLOOKUP_VAR_DIR": str(var_dir),
            "NUMLOOKUP_LOG_LEVEL": "INFO",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: tuple[str, int] = ("", 0)
        self.https: tuple[str, int] = ("", 0)
        self.metrics: tuple[str, int] | None = None
        self.log_path = var_dir / "server.log"

    def start(self) -> ServerProcess:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*NUMLOOKUP, "serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=self.var_dir,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"numlookup listening"):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}\n{self.log_path.read_text()}")
        fields = dict(part.split("=", 1) for part in line.decode().split()[2:])
        self.http = _hostport(fields["http"])
        self.https = _hostport(fields["https"])
        self.metrics = _hostport(fields["metrics"]) if "metrics" in fields else None
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        return code

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `numlookup` sub-command against this server's database."""
        return subprocess.run(
            [*NUMLOOKUP, *args],
            env=self.env,
            cwd=self.var_dir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # ------------------------------------------------------------ raw clients

    def connect(self, tls: bool = False) -> socket.socket:
        host, port = self.https if tls else self.http
        sock = socket.create_connection((host, port), timeout=10)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock)
        return sock

    def raw(self, request: bytes, tls: bool = False) -> bytes:
        """Send raw bytes, read until the server closes (or 10 s)."""
        with self.connect(tls) as sock:
            sock.sendall(request)
            return read_all(sock)

    def get(self, target: str, user: str = "demo", password: str = "demo") -> tuple[int, bytes]:
        """One GET with Basic auth on a fresh connection: (status, body)."""
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request = (
            f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        return split_response(self.raw(request))

    def scrape(self) -> dict[str, float]:
        """The server's Prometheus metrics, parsed by prometheus_client: name{labels} -> value."""
        assert self.metrics is not None, "start the server with NUMLOOKUP_SERVER_METRICS"
        host, port = self.metrics
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return found

    def wait_for(
        self,
        target: str,
        body: bytes,
        user: str = "demo",
        password: str = "demo",
        timeout: float = 15.0,
    ) -> None:
        """Poll until the answer changes to `body` (after a CLI change is picked up)."""
        deadline = time.monotonic() + timeout
        last = b""
        while time.monotonic() < deadline:
            _, last = self.get(target, user, password)
            if last == body:
                return
            time.sleep(0.1)
        raise AssertionError(f"{target}: still {last!r}, wanted {body!r}")


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def split_response(data: bytes) -> tuple[int, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


def split_responses(data: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """Several responses back to back, each framed by its Content-Length."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        out.append((status, headers, rest[:length]))
        data = rest[length:]
    return out


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class HlrSimProcess:
    """A real `numlookup hlr-sim` process with M3UA over TCP on a free loopback port."""

    def __init__(self, work_dir: Path, *extra: str) -> None:
        self.work_dir = work_dir
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.m3ua: tuple[str, int] = ("", 0)

    def start(self, listen: str = "127.0.0.1:0") -> HlrSimProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.work_dir / "hlr-sim.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*NUMLOOKUP, "hlr-sim", "--listen", listen, *self.extra],
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=self.work_dir,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else b""
        if not line.startswith(b"hlr-sim listening"):
            self.stop()
            raise RuntimeError(f"hlr-sim did not start: {line!r}")
        fields = dict(part.split("=", 1) for part in line.decode().split()[2:])
        self.m3ua = _hostport(fields["m3ua-tcp"])
        return self

    @property
    def peer(self) -> str:
        return f"m3ua-tcp://{self.m3ua[0]}:{self.m3ua[1]}"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(30)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        return code
