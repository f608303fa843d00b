"""`numlookup np apply-delta`, run in-process against SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from numlookup.store.sqlite import SqliteStore
from tests.unit.test_cli_admin import Cli, make_cli, write_config


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NUMLOOKUP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return make_cli(write_config(tmp_path, seed_demo=False), capsys)


def lookups(tmp_path: Path, *numbers: str) -> list[str | None]:
    store = SqliteStore(tmp_path / "db" / "numlookup.sqlite3")
    try:
        return [store.ported_lookup(number) for number in numbers]
    finally:
        store.close()


def test_apply_delta(cli: Cli, tmp_path: Path) -> None:
    ported = tmp_path / "ported.csv"
    ported.write_text("msisdn,mccmnc\n46708100200,24004\n46708100300,24001\n")
    assert cli("np", "import", "ported", str(ported)).code == 0
    version = cli("np", "stats").out.splitlines()[2]
    delta = tmp_path / "delta.csv"
    delta.write_text(
        "action,msisdn,mccmnc\n"
        "port-in,46708100400,24008\n"
        "port-out,46708100200,24002\n"
        "return,46708100300,\n"
        "return,46708100999,\n"
    )
    done = cli("np", "apply-delta", str(delta))
    assert (done.code, done.out, done.err) == (
        0,
        f"applied 2 port-ins/outs and 1 returns from {delta}\n",
        "",
    )
    stats = cli("np", "stats").out.splitlines()
    assert stats[0] == "ported numbers  2"
    assert stats[2] != version
    assert lookups(tmp_path, "46708100200", "46708100300", "46708100400") == [
        "24002",
        None,
        "24008",
    ]


def test_apply_delta_with_bad_rows(cli: Cli, tmp_path: Path) -> None:
    delta = tmp_path / "delta.csv"
    delta.write_text(
        "port-in,46708100200,24004\nmove,46708100300,24001\nport-in,46708100200,24001\n"
    )
    done = cli("np", "apply-delta", str(delta))
    assert done.code == 1
    assert done.out == ""
    assert done.err.splitlines() == [
        "line 2: unknown action 'move' (port-in, port-out or return)",
        "line 3: msisdn 46708100200 repeats line 1",
        f"numlookup: nothing applied: 2 bad rows in {delta} (--skip-bad applies the good rows)",
    ]
    assert lookups(tmp_path, "46708100200") == [None]
    done = cli("np", "apply-delta", str(delta), "--skip-bad")
    assert done.code == 0
    assert done.out == f"applied 1 port-ins/outs and 0 returns from {delta}\n"
    assert done.err.splitlines()[-1] == "skipped 2 bad rows"
    assert lookups(tmp_path, "46708100200") == ["24004"]


def test_apply_delta_of_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    done = cli("np", "apply-delta", str(tmp_path / "absent.csv"))
    assert done.code == 1
    assert "no such file" in done.err
