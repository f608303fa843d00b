"""The administration commands, run in-process: account, block, np, records."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from numlookup.cli.main import main
from numlookup.cli.records import format_time, parse_time
from numlookup.errors import NumlookupError
from numlookup.service.passwords import verify_password
from numlookup.store.base import LookupRecord
from numlookup.store.sqlite import SqliteStore


@dataclass
class Done:
    code: int
    out: str
    err: str


Cli = Callable[..., Done]


def write_config(tmp_path: Path, seed_demo: bool) -> Path:
    config = tmp_path / "numlookup.toml"
    config.write_text(
        f'var_dir = "{tmp_path / "var"}"\n'
        f"seed_demo = {'true' if seed_demo else 'false'}\n"
        f'[database]\npath = "{tmp_path / "db" / "numlookup.sqlite3"}"\n'
    )
    return config


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NUMLOOKUP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "numlookup.sqlite3"


def make_cli(config: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Done:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return make_cli(write_config(tmp_path, seed_demo=False), capsys)


def open_db(db_path: Path) -> SqliteStore:
    return SqliteStore(db_path)


# ----------------------------------------------------------------- account


def test_account_life_cycle(cli: Cli, db_path: Path) -> None:
    done = cli("account", "add", "fin", "--password", "s3cret", "--range", "358", "+46,47")
    assert (done.code, done.out) == (0, "account fin added\n")
    done = cli("account", "add", "acme", "--password", "x", "--service", "realtime")
    assert done.code == 0
    done = cli("account", "list")
    assert done.code == 0
    assert done.out.splitlines() == [
        "user  service      max_ongoing  ranges     enabled",
        "acme  realtime     100          all        yes",
        "fin   portability  100          358,46,47  yes",
    ]
    done = cli("account", "show", "fin")
    assert done.out.splitlines() == [
        "user         fin",
        "service      portability",
        "max_ongoing  100",
        "ranges       358,46,47",
        "enabled      yes",
    ]
    assert cli("account", "set", "fin", "--max-ongoing", "7", "--disable").code == 0
    assert cli("account", "set", "fin", "--ranges", "4670810").code == 0
    store = open_db(db_path)
    fin = store.get_account("fin")
    assert fin is not None
    assert (fin.max_ongoing, fin.enabled, fin.accepted_ranges) == (7, False, ("4670810",))
    assert verify_password(fin.password_hash, "s3cret")
    assert cli("account", "set", "fin", "--no-ranges", "--enable").code == 0
    fin = store.get_account("fin")
    assert fin is not None and fin.accepted_ranges == () and fin.enabled
    done = cli("account", "passwd", "fin", "--password", "n3w")
    assert (done.code, done.out) == (0, "password of fin changed\n")
    fin = store.get_account("fin")
    assert fin is not None and verify_password(fin.password_hash, "n3w")
    assert cli("account", "remove", "fin").out == "account fin removed\n"
    assert store.get_account("fin") is None
    store.close()


def test_the_password_hash_is_never_printed(cli: Cli) -> None:
    outputs = [
        cli("account", "add", "fin", "--password", "s3cret"),
        cli("account", "list"),
        cli("account", "show", "fin"),
        cli("account", "set", "fin", "--max-ongoing", "3"),
        cli("account", "passwd", "fin", "--password", "other"),
    ]
    for done in outputs:
        assert done.code == 0
        assert "argon2" not in done.out + done.err
        assert "s3cret" not in done.out + done.err


def test_the_password_from_standard_input(
    cli: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin\nignored\n"))
    assert cli("account", "add", "fin").code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    done = cli("account", "passwd", "fin")
    assert (done.code, done.err) == (1, "numlookup: the password is empty\n")
    store = open_db(db_path)
    fin = store.get_account("fin")
    assert fin is not None and verify_password(fin.password_hash, "from stdin")
    store.close()


def test_the_password_prompt_on_a_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    answers = iter(["one", "two"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    done = cli("account", "add", "fin")
    assert (done.code, done.err) == (1, "numlookup: the passwords differ\n")
    answers = iter(["same", "same"])
    assert cli("account", "add", "fin").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "fin", "--password", "p", "--range", "4"], "range '4': expected 1-15 digits"),
        (["add", "fin", "--password", "p", "--range", "46x"], "range '46x'"),
        (["add", "fin", "--password", "p", "--max-ongoing", "0"], "must be at least 1"),
        (["add", "fi:n", "--password", "p"], "no ':'"),
        (["add", "", "--password", "p"], "the user name is empty"),
        (["add", "fin", "--password", ""], "the password is empty"),
        (["set", "fin"], "nothing to change"),
        (["set", "fin", "--max-ongoing", "-1"], "must be at least 1"),
        (["set", "fin", "--ranges", ","], "no prefix given"),
        (["set", "nobody", "--disable"], "no account 'nobody'"),
        (["show", "nobody"], "no account 'nobody'"),
        (["passwd", "nobody", "--password", "p"], "no account 'nobody'"),
        (["remove", "nobody"], "no account 'nobody'"),
    ],
)
def test_account_errors(cli: Cli, args: list[str], message: str) -> None:
    done = cli("account", *args)
    assert done.code == 1
    assert done.err.startswith("numlookup: ")
    assert message in done.err
    assert done.out == ""


def test_adding_an_account_twice(cli: Cli) -> None:
    assert cli("account", "add", "fin", "--password", "p").code == 0
    done = cli("account", "add", "fin", "--password", "p")
    assert (done.code, done.err) == (1, "numlookup: account 'fin' exists\n")


def test_argparse_still_refuses_what_it_cannot_parse(cli: Cli) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("account", "set", "fin", "--enable", "--disable")
    assert caught.value.code == 2


# ------------------------------------------------------------------- block


def test_block_rules(cli: Cli) -> None:
    assert cli("account", "add", "fin", "--password", "p").code == 0
    assert cli("block", "add", "+4670810").out == "blocked 4670810 for every account\n"
    assert cli("block", "add", "4670810").out == "already blocked: 4670810 for every account\n"
    assert cli("block", "add", "358", "--account", "fin").out == "blocked 358 for account fin\n"
    assert cli("block", "list").out.splitlines() == [
        "prefix   account",
        "358      fin",
        "4670810  *",
    ]
    done = cli("block", "remove", "358")
    assert (done.code, done.err) == (1, "numlookup: no block rule 358 for every account\n")
    assert cli("block", "remove", "358", "--account", "fin").code == 0
    assert cli("block", "list").out.splitlines() == ["prefix   account", "4670810  *"]
    done = cli("block", "add", "46", "--account", "nobody")
    assert (done.code, done.err) == (1, "numlookup: no account 'nobody'\n")
    done = cli("block", "add", "0046")
    assert done.code == 1 and "prefix '0046'" in done.err


# ---------------------------------------------------------------------- np


def test_np_import_and_stats(cli: Cli, tmp_path: Path, db_path: Path) -> None:
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("prefix,mccmnc\n46708,24008\n358,24491\n")
    ported = tmp_path / "ported.csv"
    ported.write_text("msisdn,mccmnc\n46708100200,24004\n")
    done = cli("np", "import", "ranges", str(ranges))
    assert (done.code, done.out, done.err) == (0, f"imported 2 ranges from {ranges}\n", "")
    done = cli("np", "import", "ported", str(ported))
    assert (done.code, done.out) == (0, f"imported 1 ported numbers from {ported}\n")
    done = cli("np", "stats")
    assert done.code == 0
    assert done.out.splitlines()[:2] == ["ported numbers  1", "ranges          2"]
    store = open_db(db_path)
    assert store.ported_lookup("46708100200") == "24004"
    store.close()


def test_np_import_with_bad_rows(cli: Cli, tmp_path: Path, db_path: Path) -> None:
    ported = tmp_path / "ported.csv"
    ported.write_text("msisdn,mccmnc\n46708100200,24004\n46708100300,24099\nx,24001\n")
    done = cli("np", "import", "ported", str(ported))
    assert done.code == 1
    assert done.out == ""
    assert done.err.splitlines() == [
        "line 3: mccmnc '24099' is not a known E.212 MCC+MNC",
        "line 4: msisdn 'x' is not digits",
        f"numlookup: nothing imported: 2 bad rows in {ported} (--skip-bad imports the good rows)",
    ]
    assert cli("np", "stats").out.splitlines()[0] == "ported numbers  0"
    done = cli("np", "import", "ported", str(ported), "--skip-bad")
    assert done.code == 0
    assert done.out == f"imported 1 ported numbers from {ported}\n"
    assert done.err.splitlines()[-1] == "skipped 2 bad rows"


def test_np_import_of_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    done = cli("np", "import", "ranges", str(tmp_path / "absent.csv"))
    assert done.code == 1
    assert "no such file" in done.err


# ----------------------------------------------------------------- records


def fill_records(db_path: Path) -> None:
    store = open_db(db_path)
    base = parse_time("2024-05-01T00:00:00Z")
    store.insert_records(
        [
            LookupRecord(
                base + 0.1234, "demo", "46708100100", "OK", "24008", None, "database", 812
            ),
            LookupRecord(base + 3600, "fin", "358401234567", "OK", "24491", None, "cache", 9),
            LookupRecord(base + 86400, "demo", "123", "msisdn is invalid", None, None, "none", 3),
        ]
    )
    store.close()


def test_records_export_csv(cli: Cli, db_path: Path) -> None:
    assert cli("account", "list").code == 0  # creates the database
    fill_records(db_path)
    done = cli("records", "export", "--format", "csv")
    assert done.code == 0
    assert done.out.splitlines() == [
        "time,account,msisdn,result,imsi,location,source,latency_us",
        "2024-05-01T00:00:00.123Z,demo,46708100100,OK,24008,,database,812",
        "2024-05-01T01:00:00.000Z,fin,358401234567,OK,24491,,cache,9",
        "2024-05-02T00:00:00.000Z,demo,123,msisdn is invalid,,,none,3",
    ]
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert rows[2]["result"] == "msisdn is invalid"


def test_records_export_jsonl_with_filters(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    assert cli("account", "list").code == 0
    fill_records(db_path)
    done = cli("records", "export", "--format", "jsonl", "--account", "demo")
    rows = [json.loads(line) for line in done.out.splitlines()]
    assert [r["msisdn"] for r in rows] == ["46708100100", "123"]
    assert rows[0] == {
        "time": "2024-05-01T00:00:00.123Z",
        "account": "demo",
        "msisdn": "46708100100",
        "result": "OK",
        "imsi": "24008",
        "location": None,
        "source": "database",
        "latency_us": 812,
    }
    done = cli(
        "records", "export", "--format", "jsonl", "--since", "2024-05-01T00:30", "--until",
        "2024-05-02",
    )  # fmt: skip
    assert [json.loads(line)["account"] for line in done.out.splitlines()] == ["fin"]
    out = tmp_path / "export.csv"
    done = cli("records", "export", "--format", "csv", "--since", "1714521600", "--out", str(out))
    assert (done.code, done.out, done.err) == (0, "", f"3 records written to {out}\n")
    assert len(out.read_text().splitlines()) == 4


def test_records_export_refuses_a_bad_time(cli: Cli) -> None:
    done = cli("records", "export", "--format", "csv", "--since", "yesterday")
    assert done.code == 1
    assert "--since 'yesterday'" in done.err


def test_time_parsing_and_formatting() -> None:
    assert parse_time("1714564800") == 1714564800.0
    assert parse_time("1714564800.5") == 1714564800.5
    assert parse_time("2024-05-01") == 1714521600.0
    assert parse_time("2024-05-01T12:00:00Z") == 1714564800.0
    assert parse_time("2024-05-01T14:00:00+02:00") == 1714564800.0
    assert parse_time("2024-05-01 12:00") == 1714564800.0  # no offset: UTC
    for bad in ("nan", "inf", "2024-13-01", ""):
        with pytest.raises(NumlookupError):
            parse_time(bad)
    assert format_time(1714564800.0) == "2024-05-01T12:00:00.000Z"
    assert format_time(1714564800.9996) == "2024-05-01T12:00:00.999Z"


# ------------------------------------------------------------------- seeding


def test_a_database_the_cli_creates_gets_the_demo_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = make_cli(write_config(tmp_path, seed_demo=True), capsys)
    done = cli("account", "list")
    assert done.out.splitlines()[1].split() == ["demo", "portability", "100", "all", "yes"]
    stats = cli("np", "stats").out.splitlines()
    assert stats[0] == "ported numbers  12"
