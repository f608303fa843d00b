"""The PostgreSQL store's own behaviour: migrations, configuration, `numlookup db`."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from numlookup import config
from numlookup.cli.main import main
from numlookup.errors import ConfigError, StoreError
from numlookup.store import open_store, postgres
from numlookup.store.postgres import PostgresStore, describe
from tests.support.postgres import free_port


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
