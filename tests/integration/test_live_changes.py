"""Accounts, rules, data and records changed and read while the real server runs."""

from __future__ import annotations

import csv
import io
import json
import signal
from pathlib import Path

import pytest

from tests.integration.serverproc import ServerProcess

pytestmark = pytest.mark.integration


def test_accepted_ranges_and_disabled_accounts(server: ServerProcess) -> None:
    done = server.cli("account", "add", "fin", "--password", "s3cret", "--range", "358")
    assert done.returncode == 0, done.stderr
    server.wait_for("/lookup?msisdn=358401234567", b"result=OK;imsi=24491", "fin", "s3cret")
    assert server.get("/lookup?msisdn=46708100100", "fin", "s3cret") == (
        200,
        b"result=MSISDN range is not accepted",
    )
    assert server.cli("account", "set", "fin", "--disable").returncode == 0
    server.wait_for("/lookup?msisdn=358401234567", b"401 Unauthorized\n", "fin", "s3cret")
    assert server.cli("account", "set", "fin", "--enable").returncode == 0
    server.wait_for("/lookup?msisdn=358401234567", b"result=OK;imsi=24491", "fin", "s3cret")
    assert server.cli("account", "passwd", "fin", "--password", "new").returncode == 0
    server.wait_for("/lookup?msisdn=358401234567", b"401 Unauthorized\n", "fin", "s3cret")
    assert server.get("/lookup?msisdn=358401234567", "fin", "new") == (200, b"result=OK;imsi=24491")


def test_block_rules(server: ServerProcess) -> None:
    assert server.cli("block", "add", "4670810").returncode == 0
    server.wait_for("/lookup?msisdn=46708100100", b"result=IMSI_LOOKUP_BLOCKED")
    assert server.cli("block", "remove", "4670810").returncode == 0
    server.wait_for("/lookup?msisdn=46708100100", b"result=OK;imsi=24008")


def test_an_import_replaces_the_data_and_the_cache(server: ServerProcess, tmp_path: Path) -> None:
    assert server.get("/lookup?msisdn=46708100300") == (200, b"result=OK;imsi=24008")
    ported = tmp_path / "ported.csv"
    ported.write_text("msisdn,mccmnc\n46708100300,24001\n46708100200,24004\n")
    done = server.cli("np", "import", "ported", str(ported))
    assert done.returncode == 0, done.stderr
    # The cached answer goes with the old data set.
    server.wait_for("/lookup?msisdn=46708100300", b"result=OK;imsi=24001")


def test_a_bad_import_changes_nothing(server: ServerProcess, tmp_path: Path) -> None:
    before = server.get("/lookup?msisdn=46708100200")
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("prefix,mccmnc\n46708,24008\n46709,24099\n")
    done = server.cli("np", "import", "ranges", str(ranges))
    assert done.returncode != 0
    assert "line 3" in done.stderr
    assert server.get("/lookup?msisdn=46708100200") == before


def test_records_are_all_written_on_sigterm(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "rec", env={"NUMLOOKUP_RECORDS_FLUSH_INTERVAL": "60"}).start()
    try:
        wanted = [proc.get(f"/lookup?msisdn=4670810{n:04d}") for n in range(25)]
        assert all(status == 200 for status, _ in wanted)
        proc.get("/lookup?msisdn=bad")
    finally:
        assert proc.stop(signal.SIGTERM) == 0
    out = proc.cli("records", "export", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 26
    assert {r["source"] for r in rows[:25]} == {"database"}
    assert rows[0]["account"] == "demo"
    assert rows[0]["msisdn"] == "46708100000"
    assert rows[0]["result"] == "OK" and rows[0]["imsi"] == "24008"
    assert rows[-1]["result"] == "msisdn is invalid"
    as_csv = proc.cli("records", "export", "--format", "csv", "--account", "demo")
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(table) == 26


def test_sigint_also_stops_cleanly(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "int").start()
    assert proc.get("/lookup?msisdn=46708100100") == (200, b"result=OK;imsi=24008")
    assert proc.stop(signal.SIGINT) == 0
    out = proc.cli("records", "export", "--format", "jsonl")
    assert len(out.stdout.splitlines()) == 1


def test_connections_over_the_cap_get_503(tmp_path: Path) -> None:
    from tests.integration.serverproc import read_all, split_response

    proc = ServerProcess(tmp_path / "cap", env={"NUMLOOKUP_SERVER_MAX_CONNECTIONS": "2"}).start()
    try:
        held = [proc.connect(), proc.connect()]
        for sock in held:  # both are really established and served
            sock.sendall(
                b"GET /lookup?msisdn=46708100100 HTTP/1.1\r\n"
                b"Authorization: Basic ZGVtbzpkZW1v\r\n\r\n"
            )
            assert sock.recv(65536).endswith(b"result=OK;imsi=24008")
        with proc.connect() as third:
            assert split_response(read_all(third))[0] == 503
        held.pop().close()
        # Once the server has seen the close, there is room again.
        proc.wait_for("/lookup?msisdn=46708100100", b"result=OK;imsi=24008")
        held[0].close()
    finally:
        assert proc.stop() == 0
