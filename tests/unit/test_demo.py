"""The demo account and data set that a new database gets."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from numlookup.numbers import e212
from numlookup.service.passwords import verify_password
from numlookup.store import demo
from numlookup.store.csvimport import check_file
from numlookup.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "db.sqlite3")
    demo.seed(opened)
    yield opened
    opened.close()


def longest_prefix(ranges: list[tuple[str, str]], msisdn: str) -> str | None:
    best = max((p for p, _ in ranges if msisdn.startswith(p)), key=len, default=None)
    return dict(ranges)[best] if best is not None else None


def test_the_two_examples_of_the_specification(store: SqliteStore) -> None:
    ranges = store.list_ranges()
    # 46708100100: not ported, Telenor Sweden's range.
    assert store.ported_lookup("46708100100") is None
    assert longest_prefix(ranges, "46708100100") == "24008"
    # 46708100200: in the same range, ported to 24004.
    assert store.ported_lookup("46708100200") == "24004"


def test_the_demo_account(store: SqliteStore) -> None:
    account = store.get_account("demo")
    assert account is not None
    assert verify_password(account.password_hash, "demo")
    assert (account.service, account.max_ongoing, account.accepted_ranges) == (
        "portability",
        100,
        (),
    )
    assert account.enabled


@pytest.mark.parametrize("name", ["ported", "ranges"])
def test_the_shipped_files_are_clean(name: str) -> None:
    with resources.as_file(
        resources.files("numlookup").joinpath("data", "demo", f"{name}.csv")
    ) as path:
        assert check_file(path, name) == []


def test_every_network_is_in_the_e212_table(store: SqliteStore) -> None:
    ported, ranges = store.portability_counts()
    assert ported >= 10 and ranges >= 50
    countries = {prefix[:2] for prefix, _ in store.list_ranges()}
    assert {"46", "47", "45", "35", "49", "44", "33", "12"} <= countries
    for _, plmn in store.list_ranges():
        assert e212.operator(plmn) is not None


def test_seeding_again_changes_nothing(store: SqliteStore) -> None:
    before = store.versions()
    demo.seed(store)
    assert store.versions() == before


def test_seeding_keeps_data_already_there(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "other.sqlite3")
    store.replace_ported([("46708100200", "24007")])
    demo.seed(store)
    assert store.ported_lookup("46708100200") == "24007"
    assert store.portability_counts()[0] == 1
    assert store.portability_counts()[1] > 0
    store.close()
