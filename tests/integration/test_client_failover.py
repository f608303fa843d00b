"""The lookup client against real servers: failover when the primary is killed
in the middle of a bulk run, and a bulk run interrupted and started again."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.serverproc import NUMLOOKUP, ServerProcess
from tests.support.postgres import postgres_server, postgres_url
from tests.support.redis import RedisServer, redis_server, redis_session

__all__ = ["postgres_server", "postgres_url", "redis_server", "redis_session"]  # fixtures

pytestmark = pytest.mark.integration

COUNT = 3000
WAIT = 60.0  # an upper bound on any one wait, never a timing under test


def start(var_dir: Path, env: dict[str, str]) -> ServerProcess:
    return ServerProcess(var_dir, env={"NUMLOOKUP_RELOAD_INTERVAL": "0.2", **env}).start()


@pytest.fixture(params=["embedded", "postgresql+redis"])
def servers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Each on its own SQLite, or both on one PostgreSQL and one Redis."""
    env: dict[str, str] = {}
    if request.param == "postgresql+redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        env = {
            "NUMLOOKUP_DATABASE_URL": request.getfixturevalue("postgres_url"),
            "NUMLOOKUP_CACHE_URL": redis.url,
        }
    primary = start(tmp_path / "primary", env)
    backup = start(tmp_path / "backup", env)
    yield primary, backup
    for server in (primary, backup):
        if server.proc is not None and server.proc.returncode is None:
            server.stop(signal.SIGKILL)


def url(server: ServerProcess) -> str:
    host, port = server.http
    return f"http://{host}:{port}"


def numbers_file(tmp_path: Path) -> tuple[Path, list[str]]:
    # 4670810xxxx: the demo range 46708 (MCC+MNC 24008), valid Swedish mobile numbers.
    numbers = [f"4670810{n:04d}" for n in range(COUNT)]
    path = tmp_path / "numbers.csv"
    path.write_text("msisdn\n" + "\n".join(numbers) + "\n")
    return path, numbers


def expected_mnc(msisdn: str) -> str:
    return "04" if msisdn == "46708100200" else "08"


def bulk(source: Path, out: Path, *servers: ServerProcess) -> subprocess.Popen[bytes]:
    flags = [arg for server in servers for arg in ("--server", url(server))]
    return subprocess.Popen(
        [*NUMLOOKUP, "lookup", "--file", str(source), "--out", str(out), *flags,
         "--concurrency", "8", "--timeout", "5", "--deadline", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def wait_for_rows(out: Path, rows: int, proc: subprocess.Popen[bytes]) -> None:
    """Poll the output file until it has `rows` data rows (or the run ended)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") - 1 >= rows:
            return
        time.sleep(0.01)
    raise AssertionError(f"{out}: not {rows} rows before the run ended")


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=WAIT)
    return proc.returncode, err.decode()


def read_rows(out: Path) -> list[dict[str, str]]:
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_primary_killed_in_the_middle_of_a_bulk_run(
    tmp_path: Path, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    primary, backup = servers
    source, numbers = numbers_file(tmp_path)
    out = tmp_path / "results.csv"
    proc = bulk(source, out, primary, backup)
    wait_for_rows(out, 500, proc)
    assert primary.stop(signal.SIGKILL) == -signal.SIGKILL
    code, err = finish(proc)
    assert code == 0, err
    assert f"{COUNT} answered, 0 already" in err

    rows = read_rows(out)
    assert Counter(row["msisdn"] for row in rows) == Counter(numbers)  # each exactly once
    assert all(row["result"] == "OK" for row in rows)
    # Both servers serve the demo data: 46708 is 24008, and 46708100200 is ported to 24004.
    assert {row["msisdn"]: row["mnc"] for row in rows} == {n: expected_mnc(n) for n in numbers}
    by_server = Counter(row["server"] for row in rows)
    assert by_server[url(primary)] >= 500
    assert by_server[url(backup)] > 0
    assert set(by_server) == {url(primary), url(backup)}


def test_bulk_run_interrupted_and_run_again(
    tmp_path: Path, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    primary, backup = servers
    source, numbers = numbers_file(tmp_path)
    out = tmp_path / "results.csv"
    proc = bulk(source, out, primary, backup)
    wait_for_rows(out, 500, proc)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 130, err
    assert "interrupted" in err
    first = read_rows(out)
    assert 500 <= len(first) < COUNT
    assert out.read_bytes().endswith(b"\n")  # no half-written row

    code, err = finish(bulk(source, out, primary, backup))
    assert code == 0, err
    assert f"{COUNT - len(first)} answered, {len(first)} already" in err
    rows = read_rows(out)
    assert Counter(row["msisdn"] for row in rows) == Counter(numbers)
    assert all(row["result"] == "OK" for row in rows)
    assert rows[: len(first)] == first
