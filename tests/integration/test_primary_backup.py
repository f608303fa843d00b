"""A primary and a backup server on one PostgreSQL and one Redis.

Both are real `numlookup serve` processes; PostgreSQL, Redis and the HLR
simulator are real servers started by the fixtures.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.serverproc import HlrSimProcess, ServerProcess
from tests.support.postgres import postgres_server, postgres_url
from tests.support.redis import RedisServer, redis_server, redis_session

__all__ = ["postgres_server", "postgres_url", "redis_server", "redis_session"]  # fixtures

pytestmark = pytest.mark.integration

WAIT = 30.0  # an upper bound on any one wait, never a timing under test
SLOW = "/lookup?msisdn=46708100903&nocache"  # the HLR simulator answers after 2 s
SLOW_OK = b"result=OK;imsi=24008;location=46"


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HlrSimProcess]:
    sim = HlrSimProcess(tmp_path_factory.mktemp("hlr")).start()
    yield sim
    assert sim.stop() == 0


def shared_env(postgres_url: str, redis: RedisServer, hlr: HlrSimProcess) -> dict[str, str]:
    return {
        "NUMLOOKUP_DATABASE_URL": postgres_url,
        "NUMLOOKUP_CACHE_URL": redis.url,
        "NUMLOOKUP_CACHE_REDIS_TIMEOUT": "0.3",
        "NUMLOOKUP_CACHE_LEASE_SECONDS": "4",
        "NUMLOOKUP_REALTIME_PEERS": hlr.peer,
        "NUMLOOKUP_REALTIME_INVOKE_TIMEOUT": "3",
        "NUMLOOKUP_REALTIME_DEADLINE": "3.5",
        "NUMLOOKUP_RELOAD_INTERVAL": "0.2",
        "NUMLOOKUP_RECORDS_FLUSH_INTERVAL": "0.1",
        "NUMLOOKUP_SERVER_METRICS": "127.0.0.1:0",
    }


@pytest.fixture
def pair(
    tmp_path: Path, postgres_url: str, redis_server: RedisServer, hlr: HlrSimProcess
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = shared_env(postgres_url, redis_server, hlr)
    primary = ServerProcess(tmp_path / "primary", env=env).start()
    backup = ServerProcess(tmp_path / "backup", env=env).start()
    yield primary, backup
    for server in (primary, backup):
        if server.proc is not None and server.proc.returncode is None:
            server.stop(signal.SIGKILL)


def records(server: ServerProcess) -> list[dict[str, str]]:
    done = server.cli("records", "export", "--format", "csv")
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def until(done: Callable[[], bool], failure: str, every: float = 0.05) -> None:
    """Poll `done` until it holds; AssertionError(`failure`) after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() >= deadline:
            raise AssertionError(failure)
        time.sleep(every)


def wait_for_records(server: ServerProcess, msisdn: str, count: int) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []

    def enough() -> bool:
        found[:] = [row for row in records(server) if row["msisdn"] == msisdn]
        return len(found) >= count

    until(enough, f"{msisdn}: fewer than {count} lookup records", every=0.1)
    return found


def wait_for_log(server: ServerProcess, text: str, times: int = 1) -> None:
    until(
        lambda: server.log_path.read_text(errors="replace").count(text) >= times,
        f"{server.log_path}: {text!r} not {times} times",
    )


def test_either_server_answers_any_account_the_same(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    primary = pair[0]
    added = primary.cli("account", "add", "acme", "--password", "pw", "--service", "portability")
    assert added.returncode == 0, added.stderr
    # Each server picks the account up on its own reload; wait for both.
    for server in pair:
        server.wait_for("/lookup?msisdn=46708100200", b"result=OK;imsi=24004", "acme", "pw")
    for server in pair:
        assert server.get("/lookup?msisdn=46708100300", "acme", "pw") == (
            200,
            b"result=OK;imsi=24008",
        )


def test_a_lookup_cached_through_one_server_is_a_hit_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    primary, backup = pair
    assert primary.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    assert backup.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    rows = wait_for_records(primary, "46708100100", 2)
    assert sorted(row["source"] for row in rows) == ["cache", "database"]


def add_realtime_account(pair: tuple[ServerProcess, ServerProcess], name: str, limit: int) -> None:
    """A realtime account allowed `limit` ongoing lookups, known to both servers."""
    added = pair[0].cli(
        "account", "add", name, "--password", "pw", "--service", "realtime",
        "--max-ongoing", str(limit),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    for server in pair:
        server.wait_for("/lookup?msisdn=46708100100&nocache", SLOW_OK, name, "pw")


def test_the_ongoing_limit_holds_across_both_servers(
    pair: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    primary, backup = pair
    add_realtime_account(pair, "rt2", 2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(primary.get, SLOW, "rt2", "pw") for _ in range(2)]
        wait_for_leases(redis_server, "rt2", 2)
        third = backup.get("/lookup?msisdn=46708100100&nocache", "rt2", "pw")
        answers = [f.result(WAIT) for f in slow]
    assert third == (200, b"result=REQUEST_THROTTLED")
    assert answers == [(200, SLOW_OK)] * 2
    # Both answered: the backup admits the account again.
    assert backup.get("/lookup?msisdn=46708100100&nocache", "rt2", "pw") == (200, SLOW_OK)


def wait_for_leases(redis: RedisServer, account: str, count: int) -> None:
    """Until `count` requests of the account are ongoing (as Redis holds them)."""
    key = f"numlookup:ongoing:{account}"
    with redis.client() as client:
        until(lambda: client.zcard(key) == count, f"{key}: never {count} leases", every=0.02)


def test_a_killed_server_does_not_hold_places_forever(
    pair: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    primary, backup = pair
    add_realtime_account(pair, "rt1", 1)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        held = pool.submit(primary.get, SLOW, "rt1", "pw")
        wait_for_leases(redis_server, "rt1", 1)
        assert backup.get("/lookup?msisdn=46708100100&nocache", "rt1", "pw") == (
            200,
            b"result=REQUEST_THROTTLED",
        )
        assert primary.stop(signal.SIGKILL) == -signal.SIGKILL
        try:
            cut = held.result(WAIT)
        except (OSError, ValueError):  # reset, or a response cut short
            cut = None
        assert cut != (200, SLOW_OK)
    # Nobody will release the dead server's lease; it runs out (lease_seconds).
    assert backup.get("/lookup?msisdn=46708100100&nocache", "rt1", "pw") == (
        200,
        b"result=REQUEST_THROTTLED",
    )
    backup.wait_for("/lookup?msisdn=46708100100&nocache", SLOW_OK, "rt1", "pw", timeout=WAIT)


def test_redis_stopped_and_started_again(
    pair: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    primary, backup = pair
    assert primary.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    redis_server.stop()
    # Both keep answering: from their own cache, or from the database.
    for server in pair:
        assert server.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
        assert server.get("/lookup?msisdn=46708100200") == (200, b"result=OK;imsi=24004")
    for server in pair:
        wait_for_log(server, "unreachable; answering from this server's own cache and counts")
        metrics = server.scrape()
        assert metrics["numlookup_redis_up"] == 0
        assert metrics["numlookup_local_fallback_lookups_total"] >= 1
    redis_server.start()
    for server in pair:
        wait_for_log(server, "connected; cache and ongoing counts are shared", times=2)
    # Shared again: cached through the backup, a hit on the primary.
    assert backup.get("/lookup?msisdn=46708100300") == (200, b"result=OK;imsi=24008")
    assert primary.get("/lookup?msisdn=46708100300") == (200, b"result=OK;imsi=24008")
    rows = wait_for_records(primary, "46708100300", 2)
    assert sorted(row["source"] for row in rows) == ["cache", "database"]
    metrics = primary.scrape()
    assert metrics["numlookup_redis_up"] == 1
    assert metrics["numlookup_lookups_total{result=OK,source=cache}"] >= 1
    assert metrics["numlookup_database_up"] == 1
