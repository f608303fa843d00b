"""The store suite: every Store method, on SQLite and on PostgreSQL (see conftest.py).

Atomic replacement, two stores on one database, concurrent schema creation,
lookup records. Engine-only behaviour is tested beside each engine's own tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from numlookup.errors import AccountExists, AccountNotFound, RecordsRejected, StoreError
from numlookup.store import postgres, sqlite
from numlookup.store.base import Account, BlockRule, LookupRecord, Store
from tests.store.conftest import Engine


def small_chunks(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """Load replacement tables `rows` at a time: many chunks from few rows."""
    monkeypatch.setattr(sqlite, "LOAD_CHUNK", rows)
    monkeypatch.setattr(postgres, "LOAD_CHUNK", rows)


def account(name: str = "acme", **changes: object) -> Account:
    fields: dict[str, object] = {
        "username": name,
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "service": "portability",
        "max_ongoing": 10,
        "accepted_ranges": ("46", "358"),
        "enabled": True,
    }
    fields.update(changes)
    return Account(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------- life cycle


def test_a_new_file_gets_the_schema_once(engine: Engine) -> None:
    first = engine.open()
    assert first.is_new()
    assert first.schema_version() == engine.migrations  # type: ignore[attr-defined]
    first.close()
    again = engine.open()
    assert not again.is_new()
    assert again.schema_version() == engine.migrations  # type: ignore[attr-defined]
    again.close()


def test_stores_opening_a_new_file_at_once_create_the_schema_once(engine: Engine) -> None:
    stores: list[Store] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def opener() -> None:
        start.wait()
        try:
            stores.append(engine.open())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(s.is_new() for s in stores) == 1
    assert len({s.versions() for s in stores}) == 1
    for s in stores:
        s.close()


# ---------------------------------------------------------------- accounts


def test_accounts(store: Store) -> None:
    before = store.versions()
    assert store.list_accounts() == []
    assert store.get_account("acme") is None
    store.add_account(account())
    store.add_account(account("beta", accepted_ranges=(), enabled=False, service="realtime"))
    assert store.get_account("acme") == account()
    assert [a.username for a in store.list_accounts()] == ["acme", "beta"]
    beta = store.get_account("beta")
    assert beta is not None and beta.accepted_ranges == () and not beta.enabled
    assert store.versions().accounts == before.accounts + 2
    assert store.versions().portability == before.portability

    with pytest.raises(AccountExists):
        store.add_account(account())
    store.update_account(account(max_ongoing=5, accepted_ranges=("4670810",)))
    updated = store.get_account("acme")
    assert updated is not None
    assert updated.max_ongoing == 5 and updated.accepted_ranges == ("4670810",)
    with pytest.raises(AccountNotFound):
        store.update_account(account("nobody"))
    store.remove_account("beta")
    with pytest.raises(AccountNotFound):
        store.remove_account("beta")
    assert [a.username for a in store.list_accounts()] == ["acme"]
    assert store.versions().accounts == before.accounts + 4


def test_a_bad_account_is_refused_by_the_schema(store: Store) -> None:
    with pytest.raises(StoreError, match=r"(?i)check"):
        store.add_account(account(service="telepathy"))
    with pytest.raises(StoreError, match=r"(?i)check"):
        store.add_account(account(max_ongoing=0))
    assert store.list_accounts() == []


# ------------------------------------------------------------- block rules


def test_block_rules(store: Store) -> None:
    store.add_account(account())
    version = store.versions().accounts
    assert store.add_block(BlockRule("4670810"))
    assert store.add_block(BlockRule("4670810", "acme"))
    assert not store.add_block(BlockRule("4670810"))
    assert not store.add_block(BlockRule("4670810", "acme"))
    assert store.add_block(BlockRule("358"))
    assert store.list_blocks() == [
        BlockRule("358"),
        BlockRule("4670810"),
        BlockRule("4670810", "acme"),
    ]
    assert store.versions().accounts == version + 3
    with pytest.raises(AccountNotFound):
        store.add_block(BlockRule("46", "nobody"))
    assert store.remove_block(BlockRule("4670810"))
    assert not store.remove_block(BlockRule("4670810"))
    assert store.list_blocks() == [BlockRule("358"), BlockRule("4670810", "acme")]
    # Removing an account removes its rules.
    store.remove_account("acme")
    assert store.list_blocks() == [BlockRule("358")]


# ------------------------------------------------------------- portability


def test_ported_numbers(store: Store) -> None:
    version = store.versions().portability
    assert store.ported_lookup("46708100200") is None
    rows = [("46708100200", "24004"), ("4915112345678", "26202"), ("14252601234", "311480")]
    assert store.replace_ported(rows) == 3
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("4915112345678") == "26202"
    assert store.ported_lookup("14252601234") == "311480"
    assert store.ported_lookup("46708100201") is None
    assert store.portability_counts() == (3, 0)
    assert store.versions().portability == version + 1
    # The new set replaces the old one whole.
    assert store.replace_ported([("46708100201", "24001")]) == 1
    assert store.ported_lookup("46708100200") is None
    assert store.ported_lookup("46708100201") == "24001"
    assert store.portability_counts() == (1, 0)
    assert store.versions().portability == version + 2
    assert store.replace_ported([]) == 0
    assert store.portability_counts() == (0, 0)


@pytest.mark.parametrize(
    "msisdn",
    ["", "abc", "4670810020x", "+46708100200", "4670810020０", "٤٦٧٠٨١٠٠٢٠٠", "1234567890123456"],
)
def test_ported_lookup_of_anything_else_is_none(store: Store, msisdn: str) -> None:
    store.replace_ported([("46708100200", "24004")])
    assert store.ported_lookup(msisdn) is None


def test_many_rows_in_several_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    small_chunks(monkeypatch, 500)
    rows = [(str(46700000000 + n * 7919 % 100_003), "24008") for n in range(1234)]
    assert store.replace_ported(iter(rows)) == 1234
    assert store.portability_counts() == (1234, 0)
    assert all(store.ported_lookup(m) == "24008" for m, _ in rows)


def test_a_repeated_msisdn_changes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    small_chunks(monkeypatch, 2)
    store.replace_ported([("46708100200", "24004")])
    version = store.versions()
    rows = [("46708100300", "24001"), ("46708100301", "24001"), ("46708100300", "24002")]
    with pytest.raises(StoreError, match=r"(?i)unique"):
        store.replace_ported(rows)
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100301") is None
    assert store.versions() == version
    assert store.replace_ported(rows[:2]) == 2  # nothing left behind in the way


def test_rows_out_of_key_order(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks that do not come after the rows loaded so far wait aside and join
    # in key order at the end; numbers of several lengths sort as numbers.
    small_chunks(monkeypatch, 7)
    numbers = [str(46708100000 + n * 37 % 1000) for n in range(200)]
    numbers += [str(4915112300000 + n) for n in range(50)] + [
        str(1425260000 + n) for n in range(50)
    ]
    rows = [(m, ("24001", "24008", "26202")[n % 3]) for n, m in enumerate(numbers)]
    rows = rows[150:] + rows[::-1][150:]  # a sorted run, then the rest backwards
    assert store.replace_ported(iter(rows)) == 300
    assert store.portability_counts() == (300, 0)
    assert all(store.ported_lookup(m) == plmn for m, plmn in rows)
    ranges = [(str(4670 + n), "24001") for n in range(30)][::-1]
    assert store.replace_ranges(ranges) == 30
    assert store.list_ranges() == sorted(ranges)


def test_a_repeat_among_rows_out_of_order_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_chunks(monkeypatch, 3)
    store.replace_ported([("46708100200", "24004")])
    version = store.versions()
    rows = [(str(46708100300 + n), "24001") for n in range(10)]
    with pytest.raises(StoreError, match=r"(?i)unique|duplicate"):
        store.replace_ported(rows[5:] + rows[:5] + [rows[7]])
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100300") is None
    assert store.versions() == version
    assert store.replace_ported(rows) == 10


def test_values_with_characters_to_escape(store: Store) -> None:
    # Import files give digits only; the store takes any text as it is.
    rows = [("46708100200", 'a"b'), ("46708100300", "c\\d"), ("46708100400", "e\tf")]
    assert store.replace_ported(rows) == 3
    assert [store.ported_lookup(m) for m, _ in rows] == [p for _, p in rows]


def test_an_error_from_the_rows_changes_nothing(store: Store) -> None:
    store.replace_ported([("46708100200", "24004")])

    def rows() -> Iterator[tuple[str, str]]:
        yield "46708100300", "24001"
        raise ValueError("the file went away")

    with pytest.raises(ValueError, match="went away"):
        store.replace_ported(rows())
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100300") is None


def test_a_table_left_by_a_crash_is_dropped(store: Store, engine: Engine) -> None:
    engine.execute("CREATE TABLE ported_next (msisdn BIGINT PRIMARY KEY, plmn TEXT)")
    engine.execute("INSERT INTO ported_next VALUES (46708100999, '24001')")
    assert store.replace_ported([("46708100200", "24004")]) == 1
    assert store.ported_lookup("46708100999") is None


def test_ranges(store: Store) -> None:
    version = store.versions().portability
    assert store.list_ranges() == []
    assert store.replace_ranges([("46708", "24008"), ("358", "24491"), ("4670", "24001")]) == 3
    assert store.list_ranges() == [("358", "24491"), ("4670", "24001"), ("46708", "24008")]
    assert store.portability_counts() == (0, 3)
    assert store.versions().portability == version + 1
    with pytest.raises(StoreError):
        store.replace_ranges([("46", "24001"), ("46", "24002")])
    assert len(store.list_ranges()) == 3


def test_a_reader_sees_the_old_set_or_the_new_set_whole(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: the replacement table is committed many times while it
    # fills, and none of that may show through.
    small_chunks(monkeypatch, 97)
    writer = engine.open()
    reader = engine.open()
    sets = {
        "24001": [(f"467{n:05d}", "24001") for n in range(1500)],
        "24002": [(f"468{n:05d}", "24002") for n in range(2300)],
    }
    writer.replace_ranges(sets["24001"])
    writer.replace_ported([("46708100200", "24001")])
    done = threading.Event()
    failures: list[BaseException] = []

    def replace_repeatedly() -> None:
        try:
            for round_ in range(6):
                marker = "24002" if round_ % 2 == 0 else "24001"
                writer.replace_ranges(sets[marker])
                writer.replace_ported([("46708100200", marker)])
        except BaseException as exc:
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=replace_repeatedly)
    thread.start()
    reads = 0
    seen: set[int] = set()
    while not done.is_set() or reads < 5:
        rows = reader.list_ranges()
        plmns = {plmn for _, plmn in rows}
        assert len(plmns) == 1, "a mix of two sets"
        (marker,) = plmns
        assert rows == sets[marker], "a partial set"
        assert reader.ported_lookup("46708100200") in ("24001", "24002")
        seen.add(len(rows))
        reads += 1
    thread.join()
    assert failures == []
    assert seen <= {1500, 2300}
    assert reader.versions() == writer.versions()
    assert reader.list_ranges() == sets["24001"]
    writer.close()
    reader.close()


def test_two_stores_on_one_file(engine: Engine) -> None:
    one, two = engine.open(), engine.open()
    before = two.versions()
    one.add_account(account())
    one.replace_ported([("46708100200", "24004")])
    assert two.get_account("acme") == account()
    assert two.ported_lookup("46708100200") == "24004"
    after = two.versions()
    assert after.accounts == before.accounts + 1
    assert after.portability == before.portability + 1
    two.insert_records([record(1.0)])
    assert list(one.iter_records()) == [record(1.0)]
    one.close()
    two.close()


def test_a_store_can_move_to_another_thread(store: Store) -> None:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(store.versions()))
    thread.start()
    thread.join()
    assert result == [store.versions()]


# ----------------------------------------------------------------- records


def record(time: float, account: str = "acme", result: str = "OK") -> LookupRecord:
    ok = result == "OK"
    return LookupRecord(
        time=time,
        account=account,
        msisdn="46708100100",
        result=result,
        imsi="24008" if ok else None,
        location=None,
        source="database" if ok else "none",
        latency_us=42,
    )


def test_records_round_trip_in_time_order(store: Store) -> None:
    assert list(store.iter_records()) == []
    batch = [
        record(30.5),
        record(10.25, "beta"),
        record(20.0, result="msisdn is invalid"),
        record(20.0, "beta"),
    ]
    store.insert_records(batch)
    store.insert_records([])
    got = list(store.iter_records())
    # By time; equal times in the order they were written.
    assert got == [batch[1], batch[2], batch[3], batch[0]]
    assert got[1].imsi is None and got[1].source == "none"


def test_record_filters(store: Store) -> None:
    store.insert_records([record(float(t), "acme" if t % 2 else "beta") for t in range(10)])
    times = [r.time for r in store.iter_records(since=3, until=7)]
    assert times == [3.0, 4.0, 5.0, 6.0]  # since inclusive, until exclusive
    assert [r.time for r in store.iter_records(since=8)] == [8.0, 9.0]
    assert [r.time for r in store.iter_records(until=2)] == [0.0, 1.0]
    acme = list(store.iter_records(account="acme", since=2))
    assert [r.time for r in acme] == [3.0, 5.0, 7.0, 9.0]
    assert list(store.iter_records(account="nobody")) == []


@pytest.mark.parametrize("count", [49, 50, 51, 123])
def test_records_written_in_groups_and_singly_all_arrive(store: Store, count: int) -> None:
    batch = [
        record(float(t), f"acct{t % 7}", "OK" if t % 3 else "UNKNOWN_SUBSCRIBER")
        for t in range(count)
    ]
    store.insert_records(batch)
    assert list(store.iter_records()) == batch


def test_records_stream_in_batches(store: Store) -> None:
    store.insert_records([record(float(t)) for t in range(2500)])
    stream = store.iter_records()
    assert next(stream).time == 0.0
    assert sum(1 for _ in stream) == 2499


def test_a_nul_in_a_record_is_rejected_by_postgresql_and_kept_by_sqlite(
    engine: Engine, store: Store
) -> None:
    nul = record(1.0)._replace(msisdn="4670810\x000100")
    if engine.name == "postgresql":
        with pytest.raises(RecordsRejected, match="NUL"):
            store.insert_records([record(0.0), nul, record(2.0)])
        assert list(store.iter_records()) == []  # none of the batch
    else:
        store.insert_records([record(0.0), nul, record(2.0)])
        assert list(store.iter_records()) == [record(0.0), nul, record(2.0)]
    store.insert_records([record(3.0)])  # the same store goes on
    assert list(store.iter_records())[-1] == record(3.0)


@pytest.mark.parametrize(
    ("change", "engines"),
    [
        ({"latency_us": 2**31}, {"postgresql"}),  # beyond INTEGER on PostgreSQL only
        ({"latency_us": 2**63}, {"postgresql", "sqlite"}),  # beyond 64 bits
        ({"msisdn": None}, {"postgresql", "sqlite"}),  # NOT NULL
        ({"account": "\udcff"}, {"postgresql", "sqlite"}),  # a lone surrogate: no UTF-8
    ],
)
def test_records_are_rejected_for_what_they_hold(
    engine: Engine, store: Store, change: dict[str, object], engines: set[str]
) -> None:
    odd = record(1.0)._replace(**change)
    batch = [record(float(t)) for t in range(120)]  # in groups and singly on SQLite
    batch[70] = odd
    if engine.name in engines:
        with pytest.raises(RecordsRejected, match="insert lookup records: "):
            store.insert_records(batch)
        assert list(store.iter_records()) == []  # none of the batch
    else:
        store.insert_records(batch)
        assert list(store.iter_records())[1:3] == [record(1.0), odd]  # equal times: as written
    store.insert_records([record(200.0)])
    assert list(store.iter_records())[-1] == record(200.0)


def test_one_replacement_at_a_time(engine: Engine) -> None:
    one, two = engine.open(), engine.open()
    refused: list[StoreError] = []

    def rows() -> Iterator[tuple[str, str]]:
        yield "46708100200", "24004"
        # `one` is filling ported_next: a second replacement must not touch it.
        with pytest.raises(StoreError, match="another import") as caught:
            two.replace_ranges([("46", "24001")])
        refused.append(caught.value)
        yield "46708100300", "24001"

    assert one.replace_ported(rows()) == 2
    assert len(refused) == 1
    assert two.ported_lookup("46708100300") == "24001"
    assert two.replace_ranges([("46", "24001")]) == 1  # free again
    one.close()
    two.close()


def test_a_leading_zero_is_never_a_ported_number(store: Store) -> None:
    store.replace_ported([("46708100200", "24004")])
    assert store.ported_lookup("046708100200") is None


# ------------------------------------------------------------- delta


def test_a_delta_upserts_and_returns(store: Store) -> None:
    store.replace_ported([("46708100200", "24004"), ("46708100300", "24001")])
    version = store.versions().portability
    changes: list[tuple[str, str | None]] = [
        ("46708100400", "24008"),  # new
        ("46708100200", "24002"),  # moves again
        ("46708100300", None),  # back to its range holder
        ("46708100999", None),  # not ported: nothing to remove
    ]
    assert store.apply_ported_delta(changes) == (2, 1)
    assert store.ported_lookup("46708100400") == "24008"
    assert store.ported_lookup("46708100200") == "24002"
    assert store.ported_lookup("46708100300") is None
    assert store.ported_lookup("46708100999") is None
    assert store.portability_counts() == (2, 0)
    assert store.versions().portability == version + 1


def test_a_delta_of_returns_only(store: Store) -> None:
    store.replace_ported([("46708100200", "24004")])
    assert store.apply_ported_delta([("46708100999", None)]) == (0, 0)
    assert store.portability_counts() == (1, 0)
    assert store.apply_ported_delta([("46708100200", None)]) == (0, 1)
    assert store.portability_counts() == (0, 0)
    assert store.apply_ported_delta([]) == (0, 0)


def test_a_delta_counts_a_repeated_msisdn_once(store: Store) -> None:
    changes: list[tuple[str, str | None]] = [("46708100200", "24004"), ("46708100200", "24001")]
    assert store.apply_ported_delta(changes) == (1, 0)
    assert store.ported_lookup("46708100200") == "24001"
    assert store.portability_counts() == (1, 0)


def test_a_large_delta(store: Store) -> None:
    rows = [(str(46700000000 + n), "24008") for n in range(0, 3000, 2)]
    store.replace_ported(rows)
    changes: list[tuple[str, str | None]] = [(str(46700000000 + n), "24001") for n in range(3000)]
    changes += [(str(46700000000 + n), None) for n in range(3000, 3100)]
    assert store.apply_ported_delta(changes) == (3000, 0)
    assert store.portability_counts() == (3000, 0)
    assert store.ported_lookup("46700000001") == "24001"


def test_a_failing_delta_changes_nothing(store: Store) -> None:
    store.replace_ported([("46708100200", "24004")])
    version = store.versions()

    def changes() -> Iterator[tuple[str, str | None]]:
        yield "46708100200", None
        yield "46708100300", "24001"
        raise ValueError("the file went away")

    with pytest.raises(ValueError, match="went away"):
        store.apply_ported_delta(changes())
    bad: list[tuple[str, str | None]] = [("46708100200", None), ("4670810030x", "24001")]
    with pytest.raises(ValueError):  # not digits: refused before anything is written
        store.apply_ported_delta(bad)
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100300") is None
    assert store.portability_counts() == (1, 0)
    assert store.versions() == version


def test_a_delta_failing_inside_the_transaction_changes_nothing(
    store: Store, engine: Engine
) -> None:
    store.replace_ported([("46708100200", "24004")])
    version = store.versions()
    # A trigger refuses the delete, which runs after the upserts are made.
    engine.execute(
        "CREATE TRIGGER refuse BEFORE DELETE ON ported BEGIN SELECT RAISE(ABORT, 'refused'); END"
        if engine.name == "sqlite"
        else "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
        " CREATE TRIGGER refuse BEFORE DELETE ON ported FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    changes: list[tuple[str, str | None]] = [("46708100300", "24001"), ("46708100200", None)]
    with pytest.raises(StoreError, match="refused"):
        store.apply_ported_delta(changes)
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100300") is None
    assert store.portability_counts() == (1, 0)
    assert store.versions() == version
