"""`numlookup serve` on PostgreSQL while PostgreSQL stops and starts again.

The server keeps answering (cached numbers from its cache, others
SYSTEM_FAILURE), says so in its log, holds the lookup records and delivers
every one of them once the database is back: none lost, none twice.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from tests.integration.serverproc import ServerProcess
from tests.support.postgres import PostgresServer, own_postgres_server

__all__ = ["own_postgres_server"]  # fixture

pytestmark = pytest.mark.integration

DEADLINE = 30.0  # seconds for the server to notice a change, or deliver the records
OK = b"result=OK;imsi=24008"  # the demo ranges' answer for 46708...
FAILURE = b"result=SYSTEM_FAILURE"


def wait_for_log(server: ServerProcess, text: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if text in server.log_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the server's log:\n{server.log_path.read_text()}")


def recorded(url: str) -> Counter[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT msisdn, result FROM records WHERE account = 'demo'").fetchall()
    return Counter((str(msisdn), str(result)) for msisdn, result in rows)


def test_postgresql_stopped_and_started_again_loses_no_lookup_record(
    tmp_path: Path, own_postgres_server: PostgresServer
) -> None:
    database = own_postgres_server
    url = database.create_database("numlookup")
    env = {"NUMLOOKUP_DATABASE_URL": url, "NUMLOOKUP_SERVER_METRICS": "127.0.0.1:0"}
    server = ServerProcess(tmp_path / "var", env=env).start()
    made: list[tuple[str, str]] = []  # (msisdn, result) of every lookup, as answered
    numbers = iter(range(46708100100, 46708109999))  # each lookup a number of its own

    def lookup(msisdn: str) -> bytes:
        status, body = server.get(f"/lookup?msisdn={msisdn}")
        assert status == 200, body
        assert body.startswith(b"result="), body
        made.append((msisdn, body.decode().split(";")[0].removeprefix("result=")))
        return body

    try:
        # The database is there: answers, cached.
        cached = [str(next(numbers)) for _ in range(5)]
        for msisdn in cached:
            assert lookup(msisdn) == OK

        database.halt()
        # Cached numbers answer from the cache; the others cannot be answered.
        for msisdn in cached:
            assert lookup(msisdn) == OK
        for _ in range(5):
            assert lookup(str(next(numbers))) == FAILURE
        assert server.proc is not None and server.proc.poll() is None
        wait_for_log(server, "database unreachable: ")  # the records are held
        metrics = server.scrape()
        assert metrics["numlookup_database_up"] == 0
        assert metrics["numlookup_records_held"] >= 1
        assert metrics["numlookup_lookups_total{result=SYSTEM_FAILURE,source=database}"] == 5
        for _ in range(3):  # and lookups go on meanwhile
            assert lookup(str(next(numbers))) == FAILURE

        database.resume()
        deadline = time.monotonic() + DEADLINE
        while lookup(str(next(numbers))) != OK:  # each try is a lookup, and recorded
            assert time.monotonic() < deadline, "no answer from the database again"
            time.sleep(0.05)
        for _ in range(5):
            assert lookup(str(next(numbers))) == OK
        wait_for_log(server, "database back: ")
        wait_for_log(server, " records delivered")  # the record writer's own "back"
        assert server.scrape()["numlookup_database_up"] == 1

        expected = Counter(made)
        assert sum(expected.values()) == len(made)
        deadline = time.monotonic() + DEADLINE
        while recorded(url).total() < len(made) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorded(url) == expected
    finally:
        assert server.stop() == 0
    # Nothing more was written at the exit: each lookup is there exactly once.
    assert recorded(url) == expected
    assert not (tmp_path / "var" / "unwritten-records.jsonl").exists()
    # (msisdn, result) pairs repeat only for the cached numbers, once from the database
    # and once from the cache.
    assert {pair: n for pair, n in expected.items() if n > 1} == {(m, "OK"): 2 for m in cached}
