"""`numlookup serve` on PostgreSQL: the spec's examples, and lookup records in the database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.integration.serverproc import ServerProcess
from tests.support.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures

pytestmark = pytest.mark.integration


def test_serve_on_postgresql_answers_and_records(tmp_path: Path, postgres_url: str) -> None:
    server = ServerProcess(tmp_path / "var", env={"NUMLOOKUP_DATABASE_URL": postgres_url})
    server.start()
    try:
        assert server.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
        assert server.get("/lookup?msisdn=46708100200") == (200, b"result=OK;imsi=24004")
        # PostgreSQL text holds no NUL: the record shows it as U+FFFD, and the
        # records after it are written too.
        assert server.get("/lookup?msisdn=%00") == (200, b"result=msisdn is invalid")
        assert server.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    finally:
        assert server.stop() == 0
    # Everything lived in PostgreSQL: no SQLite file was made.
    assert not (tmp_path / "var" / "numlookup.sqlite3").exists()
    done = server.cli("records", "export", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["account"], r["msisdn"], r["result"], r["imsi"]) for r in rows] == [
        ("demo", "46708100100", "OK", "24008"),
        ("demo", "46708100200", "OK", "24004"),
        ("demo", "\ufffd", "msisdn is invalid", ""),
        ("demo", "46708100100", "OK", "24008"),
    ]
