"""The PostgreSQL store's own behaviour: migrations, configuration, `numlookup db`,
reconnecting after a server restart, statement timeouts, batched ported look-ups.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from pathlib import Path

import psycopg
import pytest

from numlookup import config
from numlookup.cli.main import main
from numlookup.errors import ConfigError, RecordsRejected, StoreError
from numlookup.results import Outcome, ResultCode
from numlookup.service.portability import PortabilityResolver
from numlookup.service.portability_pg import PostgresPortabilityResolver
from numlookup.service.records import Recorder
from numlookup.store import open_store, postgres
from numlookup.store.base import LookupRecord
from numlookup.store.postgres import PostgresStore, describe
from tests.support.postgres import PostgresServer, free_port, own_postgres_server

__all__ = ["own_postgres_server"]  # fixture


def test_open_store_with_a_url_is_postgresql_and_seeds_demo_data(postgres_url: str) -> None:
    store = open_store(None, seed_demo=True, url=postgres_url)  # type: ignore[arg-type]
    assert isinstance(store, PostgresStore)
    assert store.is_new()
    assert store.get_account("demo") is not None
    assert store.ported_lookup("46708100200") == "24004"
    store.close()
    again = open_store(None, seed_demo=True, url=postgres_url)  # type: ignore[arg-type]
    assert not again.is_new()
    again.close()


def test_migrations_are_tracked_one_row_each(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    assert rows == [(n, name) for n, name, _ in postgres.migrations()]


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    with pytest.raises(StoreError, match="newer"):
        PostgresStore(postgres_url)


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = f"postgresql://u:secret@127.0.0.1:{free_port()}/db"  # nothing listens there
    with pytest.raises(StoreError) as caught:
        PostgresStore(url)
    assert "secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def test_describe_hides_the_password() -> None:
    assert describe("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert describe("postgresql://u@h/db") == "postgresql://u@h/db"


def test_the_url_is_configured_from_the_file_or_the_environment() -> None:
    assert config.load(env={}).database.url is None
    url = "postgresql://numlookup@127.0.0.1:5432/numlookup"
    assert config.load(env={"NUMLOOKUP_DATABASE_URL": url}).database.url == url
    assert config.load(env={"NUMLOOKUP_DATABASE_URL": ""}).database.url is None
    assert config.from_mapping({"database": {"url": url}}).database.url == url
    with pytest.raises(ConfigError, match=r"database\.url"):
        config.load(env={"NUMLOOKUP_DATABASE_URL": "mysql://x/y"})
    with pytest.raises(ConfigError, match=r"database\.url"):
        config.from_mapping({"database": {"url": 5}})


def test_db_upgrade_and_status(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUMLOOKUP_DATABASE_URL", postgres_url)
    latest = len(postgres.migrations())
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "postgresql" in out and "schema version  0 " in out
    assert f"pending         {latest}" in out
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"schema version {latest}\n"
    assert main(["db", "upgrade"]) == 0  # nothing left to do
    assert capsys.readouterr().out == f"schema version {latest}\n"
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert f"schema version  {latest} (newest known: {latest})" in out
    assert "pending         0" in out
    # The upgrade made the schema only: no demo data.
    store = PostgresStore(postgres_url)
    assert store.list_accounts() == []
    store.close()


def test_db_status_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NUMLOOKUP_DATABASE_URL", raising=False)
    monkeypatch.setenv("NUMLOOKUP_VAR_DIR", str(tmp_path))
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "sqlite" in out and "pending         0" in out


# ------------------------------------------------------------- reconnecting


def lookup_record(n: int) -> LookupRecord:
    return LookupRecord(float(n), "acme", f"4670810{n:04d}", "OK", "24008", None, "database", 7)


def test_the_same_store_works_again_after_the_server_restarts(
    own_postgres_server: PostgresServer,
) -> None:
    server = own_postgres_server
    store = PostgresStore(server.create_database("numlookup"))
    store.replace_ported([("46708100200", "24004")])
    store.insert_records([lookup_record(1)])
    server.halt()
    with pytest.raises(StoreError):
        store.ported_lookup("46708100200")
    with pytest.raises(StoreError) as caught:
        store.insert_records([lookup_record(2)])
    assert not isinstance(caught.value, RecordsRejected)  # an outage: to be tried again
    with pytest.raises(StoreError, match="connect"):  # tried again: still refused
        store.versions()
    server.resume()
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup_many(["46708100200", "46708100201"]) == {"46708100200": "24004"}
    store.insert_records([lookup_record(3)])
    assert [r.time for r in store.iter_records()] == [1.0, 3.0]
    store.close()


def test_a_read_after_a_restart_goes_through_a_write_fails_once(
    own_postgres_server: PostgresServer,
) -> None:
    """The lost connection is only noticed when used: reads try again, writes do not."""
    server = own_postgres_server
    store = PostgresStore(server.create_database("numlookup"))
    store.replace_ported([("46708100200", "24004")])
    version = store.versions()
    server.restart()
    assert store.ported_lookup("46708100200") == "24004"
    server.restart()
    assert store.versions() == version
    server.restart()
    assert store.list_ranges() == []
    server.restart()
    with pytest.raises(StoreError):  # it may have been written: the caller decides
        store.insert_records([lookup_record(1)])
    store.insert_records([lookup_record(2)])
    assert [r.time for r in store.iter_records()] == [2.0]
    store.close()


def test_a_closed_store_stays_closed(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.close()
    with pytest.raises(StoreError):
        store.ported_lookup("46708100200")
    with pytest.raises(StoreError):
        store.versions()
    with pytest.raises(StoreError):
        store.insert_records([lookup_record(1)])


def test_a_record_postgresql_rejects_is_set_aside_and_the_others_arrive(
    postgres_url: str, tmp_path: Path
) -> None:
    spill = tmp_path / "unwritten-records.jsonl"
    nul = lookup_record(2)._replace(msisdn="4670810\x000002")

    async def scenario() -> None:
        recorder = Recorder(
            lambda: PostgresStore(postgres_url), flush_interval=3600, spill_path=spill
        )
        for n in range(5):
            recorder.add(nul if n == 2 else lookup_record(n))
        await recorder.flush()
        assert recorder.database_up
        assert recorder.written == 4 and recorder.rejected == 1 and recorder.held == 0
        recorder.add(lookup_record(5))
        await recorder.close()
        assert recorder.database_up and recorder.written == 5

    asyncio.run(scenario())
    store = PostgresStore(postgres_url)
    assert [r.time for r in store.iter_records()] == [0.0, 1.0, 3.0, 4.0, 5.0]
    store.close()
    lines = (tmp_path / "rejected-records.jsonl").read_text().splitlines()
    assert [LookupRecord(**json.loads(line)) for line in lines] == [nul]
    assert not spill.exists()


# ------------------------------------------------------- statement timeout


def test_a_statement_waiting_too_long_is_cancelled(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, statement_timeout=0.05)
    with psycopg.connect(postgres_url) as holder:
        holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreError, match="statement timeout"):
            store.list_accounts()
    assert store.list_accounts() == []  # the same connection, usable again
    store.close()


def test_the_store_has_a_statement_timeout_by_default(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    shown = store._conn.execute("SHOW statement_timeout").fetchone()
    assert shown == (f"{postgres.STATEMENT_TIMEOUT:g}s",)
    store.close()
    store = PostgresStore(postgres_url, statement_timeout=None)  # the server's setting
    assert store._conn.execute("SHOW statement_timeout").fetchone() == ("0",)
    store.close()


def test_an_import_waits_as_long_as_it_must(postgres_url: str) -> None:
    """Imports lift the statement timeout: the swap waits for a long reader here."""
    store = PostgresStore(postgres_url, statement_timeout=0.05)
    store.replace_ported([("46708100200", "24004")])
    reader = psycopg.connect(postgres_url)
    reader.execute("SELECT count(*) FROM ported")  # holds its lock until the commit
    failures: list[BaseException] = []

    def replace() -> None:
        try:
            store.replace_ported([("46708100200", "24001")])
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=replace)
    thread.start()
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the swap waits on the reader's lock
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE ported%'"
            ).fetchone()
            if row and row[0]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the import never waited on the reader")
    time.sleep(0.2)  # four times the statement timeout, still waiting
    reader.commit()
    reader.close()
    thread.join(30)
    assert failures == []
    assert store.ported_lookup("46708100200") == "24001"
    store.close()


# ----------------------------------------------------------- batch look-up


@pytest.mark.parametrize(
    "batch",
    [
        [],
        ["46708100200"],
        ["46708100201"],
        ["46708100200", "46708100200", "4915112345678", "46708100201"],
        ["", "abc", "4670810020x", "+46708100200", "4670810020０", "٤٦٧٠٨١٠٠٢٠٠"],
        ["1234567890123456", "046708100200", "0", "46708100200"],
    ],
)
def test_ported_lookup_many_answers_as_ported_lookup(postgres_url: str, batch: list[str]) -> None:
    store = PostgresStore(postgres_url)
    store.replace_ported([("46708100200", "24004"), ("4915112345678", "26202")])
    expected = {m: plmn for m in batch if (plmn := store.ported_lookup(m)) is not None}
    assert store.ported_lookup_many(batch) == expected
    store.close()


def test_ported_lookup_many_on_many_numbers(postgres_url: str) -> None:
    rng = random.Random(20261125)
    ported = {str(46700000000 + rng.randrange(1_000_000)): rng.choice(["24001", "24008"])}
    while len(ported) < 3000:
        ported[str(46700000000 + rng.randrange(1_000_000))] = rng.choice(["24001", "24008"])
    store = PostgresStore(postgres_url)
    store.replace_ported(ported.items())
    asked = rng.sample(sorted(ported), 1000) + [
        str(46700000000 + rng.randrange(1_000_000)) for _ in range(1000)
    ]
    rng.shuffle(asked)
    expected = {m: plmn for m in asked if (plmn := store.ported_lookup(m)) is not None}
    assert len(expected) >= 1000
    assert store.ported_lookup_many(asked) == expected
    store.close()


# ------------------------------------------------- the resolver on PostgreSQL


def test_the_postgres_resolver_answers_as_the_portability_resolver(postgres_url: str) -> None:
    rng = random.Random(7)
    store = PostgresStore(postgres_url)
    ported = {f"467081{rng.randrange(100_000):05d}": rng.choice(["24001", "24002"])}
    while len(ported) < 500:
        ported[f"467081{rng.randrange(100_000):05d}"] = rng.choice(["24001", "24002"])
    store.replace_ported(ported.items())
    store.replace_ranges([("4670", "24008"), ("46708", "24004"), ("4915", "26201")])
    numbers = rng.sample(sorted(ported), 200) + [
        f"467081{rng.randrange(100_000):05d}" for _ in range(200)
    ]
    numbers += ["4670912345", "4915112345678", "33612345678", "", "x", "046708100200"]
    oracle = PortabilityResolver(store)

    async def scenario() -> list[Outcome]:
        resolver = PostgresPortabilityResolver(
            lambda: PostgresStore(postgres_url, migrate=False), max_batch=50
        )
        resolver.start()
        try:
            return list(await asyncio.gather(*[resolver.resolve(n) for n in numbers]))
        finally:
            await resolver.close()

    assert asyncio.run(scenario()) == [oracle.resolve(n) for n in numbers]
    store.close()


def test_the_postgres_resolver_answers_again_after_a_restart(
    own_postgres_server: PostgresServer,
) -> None:
    server = own_postgres_server
    url = server.create_database("numlookup")
    store = PostgresStore(url)
    store.replace_ported([("46708100200", "24004")])
    store.close()
    ok = Outcome(ResultCode.OK, imsi="24004")

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(
            lambda: PostgresStore(url, migrate=False), retry_interval=0
        )
        resolver.start()
        assert await resolver.resolve("46708100200") == ok
        await asyncio.to_thread(server.halt)
        assert await resolver.resolve("46708100200") == Outcome(ResultCode.SYSTEM_FAILURE)
        assert not resolver.database_up
        await asyncio.to_thread(server.resume)
        assert await resolver.resolve("46708100200") == ok
        assert resolver.database_up
        await asyncio.to_thread(server.restart)  # between two lookups: not even noticed
        assert await resolver.resolve("46708100200") == ok
        await resolver.close()

    asyncio.run(scenario())
