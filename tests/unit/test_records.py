"""The batching record writer, against a store that can be made to fail."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from numlookup.errors import RecordsRejected
from numlookup.service.records import Recorder
from numlookup.store.base import LookupRecord, Store

LOGGER = "numlookup.service.records"


class ListStore:
    """Keeps inserted records in a list; refuses while `broken`, or on the calls in `refuse`.

    As PostgreSQL, it rejects a call whole (RecordsRejected) when an msisdn
    holds a NUL. Stores made by one `Stores` share its rows and its count of calls.
    """

    def __init__(self, stores: Stores | None = None) -> None:
        self.stores = stores or Stores()
        self.rows = self.stores.rows
        self.broken = False
        self.closed = False

    def insert_records(self, records: Sequence[LookupRecord]) -> None:
        stores = self.stores
        stores.calls += 1
        if self.broken or stores.broken or stores.calls in stores.refuse:
            raise OSError("disk on fire")
        if any("\x00" in r.msisdn for r in records):
            raise RecordsRejected("insert lookup records: text cannot contain NUL")
        self.rows.extend(records)

    def close(self) -> None:
        self.closed = True


class Stores:
    """A store factory: a new ListStore per call, all on one list of rows."""

    def __init__(self) -> None:
        self.rows: list[LookupRecord] = []
        self.broken = False  # every store refuses, new ones too
        self.refuse: set[int] = set()  # numbers of insert calls (from 1) that fail
        self.calls = 0
        self.made: list[ListStore] = []

    def __call__(self) -> Store:
        store = ListStore(self)
        self.made.append(store)
        return store  # type: ignore[return-value]


def record(n: int) -> LookupRecord:
    return LookupRecord(float(n), "demo", f"4670810{n:04d}", "OK", "24008", None, "database", 5)


def refused(n: int) -> LookupRecord:
    """A record the stores reject for what it holds."""
    return record(n)._replace(msisdn=f"4670810\x00{n:04d}")


def times(rows: Sequence[LookupRecord]) -> list[int]:
    return [int(r.time) for r in rows]


def spill_file(path: Path, numbers: range, bad: Sequence[int] = ()) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for n in numbers:
            fh.write(json.dumps((refused(n) if n in bad else record(n))._asdict()) + "\n")


def read_records(path: Path) -> list[LookupRecord]:
    return [LookupRecord(**json.loads(line)) for line in path.read_text().splitlines()]


def messages(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(start)]


def test_batches_retries_and_writes_everything_on_close(tmp_path: Path) -> None:
    store = ListStore()

    async def scenario() -> None:
        recorder = Recorder(lambda: store, flush_interval=3600, batch_size=10)  # type: ignore[arg-type,return-value]
        recorder.start()
        for n in range(10):
            recorder.add(record(n))
        for _ in range(100):  # a full batch wakes the writer
            if len(store.rows) == 10:
                break
            await asyncio.sleep(0.01)
        assert len(store.rows) == 10
        store.broken = True
        for n in range(10, 15):
            recorder.add(record(n))
        await recorder.flush()
        assert len(recorder) == 5  # kept for the next try
        store.broken = False
        recorder.add(record(15))
        await recorder.close()

    asyncio.run(scenario())
    assert [r.time for r in store.rows] == [float(n) for n in range(16)]
    assert store.closed


def test_what_the_database_refuses_at_close_is_spilled_to_a_file(tmp_path: Path) -> None:
    store = ListStore()
    store.broken = True
    spill = tmp_path / "unwritten.jsonl"

    async def scenario() -> None:
        recorder = Recorder(lambda: store, spill_path=spill)  # type: ignore[arg-type,return-value]
        recorder.start()
        for n in range(3):
            recorder.add(record(n))
        await recorder.close(attempts=2)

    asyncio.run(scenario())
    rows = [json.loads(line) for line in spill.read_text().splitlines()]
    assert [r["msisdn"] for r in rows] == ["46708100000", "46708100001", "46708100002"]


def test_an_outage_is_logged_once_and_every_record_arrives_once_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = Stores()
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=tmp_path / "spill.jsonl")
        for n in range(10):
            recorder.add(record(n))
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0 and recorder.written == 10
        stores.broken = True
        for round_ in range(1, 6):
            for n in range(10 * round_, 10 * round_ + 10):
                recorder.add(record(n))
            await recorder.flush()
            assert not recorder.database_up
            assert recorder.held == 10 * round_
        # Each failure dropped its store: every attempt was on a new one.
        assert all(store.closed for store in stores.made)
        stores.broken = False
        for n in range(60, 65):
            recorder.add(record(n))
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0 and recorder.written == 65
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == list(range(65))
    assert messages(caplog, "database unreachable") == [
        "database unreachable: 10 lookup records held locally (disk on fire)"
    ]
    assert messages(caplog, "database back") == ["database back: 55 records delivered"]
    assert not (tmp_path / "spill.jsonl").exists()


def test_beyond_max_held_the_oldest_go_to_the_spill_file_and_arrive_first(
    tmp_path: Path,
) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill, max_held=25)
        stores.broken = True
        for round_ in range(10):
            for n in range(10 * round_, 10 * round_ + 10):
                recorder.add(record(n))
            await recorder.flush()
            assert len(recorder) <= 25  # in memory
            assert recorder.held == 10 * round_ + 10
        # The first spill was renamed aside by the next attempt to deliver it.
        aside = spill.with_name("spill.jsonl.delivering")
        lines = aside.read_text().splitlines() + spill.read_text().splitlines()
        assert [json.loads(line)["time"] for line in lines] == [float(n) for n in range(75)]
        stores.broken = False
        recorder.add(record(100))
        await recorder.flush()
        assert recorder.held == 0 and recorder.written == 101
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == list(range(101))
    assert not spill.exists()
    assert list(tmp_path.iterdir()) == []


def test_records_spilled_by_an_earlier_run_are_delivered_first_at_start(tmp_path: Path) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    spill_file(spill, range(5))

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        for n in range(5, 8):
            recorder.add(record(n))
        recorder.start()
        for n in range(8, 10):
            recorder.add(record(n))
        await recorder.close()
        assert recorder.written == 10

    asyncio.run(scenario())
    assert times(stores.rows) == list(range(10))
    assert not spill.exists()


def test_a_spill_file_the_database_cannot_take_yet_stays_counted(tmp_path: Path) -> None:
    stores = Stores()
    stores.broken = True
    spill = tmp_path / "spill.jsonl"
    spill_file(spill, range(7))

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        recorder.start()
        recorder.add(record(7))
        await recorder.flush()
        assert recorder.held == 8 and not recorder.database_up
        await recorder.close(attempts=1)

    asyncio.run(scenario())
    assert stores.rows == []
    lines = spill.with_name("spill.jsonl.delivering").read_text().splitlines()
    lines += spill.read_text().splitlines()
    assert [json.loads(line)["time"] for line in lines] == [float(n) for n in range(8)]


def test_a_delivery_cut_short_goes_on_where_it_stopped(tmp_path: Path) -> None:
    stores = Stores()
    stores.refuse = {2}  # the second batch of the spill file fails
    spill = tmp_path / "spill.jsonl"
    spill_file(spill, range(25))

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, batch_size=10, spill_path=spill)
        await recorder.flush()  # the spill file counted, and a delivery tried
        assert not recorder.database_up
        assert recorder.held == 15  # the first 10 arrived
        aside = spill.with_name("spill.jsonl.delivering")
        assert len(aside.read_text().splitlines()) == 15  # and were trimmed away
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == list(range(25))
    assert list(tmp_path.iterdir()) == []


def test_unreadable_lines_are_set_aside_and_a_cut_line_swallows_no_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    aside = spill.with_name("spill.jsonl.delivering")
    spill_file(aside, range(3))  # a delivery was under way
    with open(spill, "a", encoding="utf-8") as fh:
        fh.write("not json\n")
        fh.write(json.dumps(record(3)._asdict())[:20])  # a crash in the middle of a line

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        stores.broken = True
        recorder.add(record(4))
        await recorder.close(attempts=1)  # appended after the cut line
        assert recorder.held == 3 + 2 + 1
        stores.broken = False
        again = Recorder(stores, flush_interval=3600, spill_path=spill)
        again.start()
        await again.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 1, 2, 4]
    rejected = tmp_path / "rejected-records.jsonl"
    assert messages(caplog, f"{aside}:") == [f"{aside}: 2 unreadable lines set aside in {rejected}"]
    cut = json.dumps(record(3)._asdict())[:20]
    assert rejected.read_text(encoding="utf-8") == f"not json\n{cut}\n"
    assert list(tmp_path.iterdir()) == [rejected]


@pytest.mark.parametrize(
    "mended",
    [
        {"latency_us": {"a": 1}},
        {"latency_us": 1.5},
        {"latency_us": True},
        {"time": "yesterday"},
        {"msisdn": 46708100100},
        {"imsi": ["24008"]},
        {"source": None},
    ],
)
def test_a_spilled_line_mended_into_no_record_is_set_aside(
    tmp_path: Path, mended: dict[str, object]
) -> None:
    """Kept as it is for the operator; neither an outage nor a record with a wrong type."""
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    spill_file(spill, range(2))
    line = json.dumps({**record(9)._asdict(), **mended})
    with open(spill, "a", encoding="utf-8") as fh:
        fh.write(line + "\n\n")  # and a blank line, which holds nothing
    spill_file(spill, range(3, 4))

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        recorder.add(record(4))
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 1, 3, 4]
    assert all(type(row.latency_us) is int for row in stores.rows)
    rejected = tmp_path / "rejected-records.jsonl"
    assert rejected.read_text(encoding="utf-8") == line + "\n"
    assert sorted(tmp_path.iterdir()) == [rejected]


def test_a_store_that_worked_is_tried_again_at_once_on_a_new_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As after a database restart: the old connection fails, a new one works."""
    stores = Stores()

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600)
        recorder.add(record(0))
        await recorder.flush()
        stores.refuse = {stores.calls + 1}
        recorder.add(record(1))
        await recorder.flush()
        assert recorder.database_up
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 1]
    assert len(stores.made) == 2 and stores.made[0].closed
    assert messages(caplog, "database") == []


def test_a_new_store_that_fails_is_not_tried_twice() -> None:
    stores = Stores()
    stores.broken = True

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600)
        recorder.add(record(0))
        await recorder.flush()
        assert stores.calls == 1
        await recorder.close(attempts=1)

    asyncio.run(scenario())


# ------------------------------------------------------------ rejected records


def test_records_the_database_rejects_are_set_aside_and_the_others_written_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    rejected = tmp_path / "rejected-records.jsonl"

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        for n in range(10):
            recorder.add(refused(n) if n in (3, 7, 8) else record(n))
        await recorder.flush()
        assert recorder.database_up
        assert recorder.written == 7 and recorder.rejected == 3 and recorder.held == 0
        calls = stores.calls
        for n in range(10, 15):
            recorder.add(record(n))
        await recorder.flush()  # later batches flow, and nothing is tried again
        assert stores.calls == calls + 1
        assert recorder.written == 12 and recorder.rejected == 3
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 1, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14]
    assert read_records(rejected) == [refused(3), refused(7), refused(8)]
    assert messages(caplog, "the database rejected") == [
        "the database rejected 3 lookup records"
        f" (insert lookup records: text cannot contain NUL); kept in {rejected}"
    ]
    assert messages(caplog, "database unreachable") == []
    assert len(stores.made) == 1  # a rejection is no reason to connect again
    assert not spill.exists()


def test_a_rejected_record_in_the_spill_file_is_set_aside_and_the_rest_delivered_first(
    tmp_path: Path,
) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    spill_file(spill, range(12), bad=[5])

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, batch_size=4, spill_path=spill)
        recorder.add(refused(12))
        recorder.add(record(13))
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0
        assert recorder.written == 12 and recorder.rejected == 2
        recorder.add(record(14))
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14]
    assert read_records(tmp_path / "rejected-records.jsonl") == [refused(5), refused(12)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rejected-records.jsonl"]


def test_an_outage_while_rejected_records_are_sought_repeats_nothing(tmp_path: Path) -> None:
    stores = Stores()
    spill = tmp_path / "spill.jsonl"
    aside = spill.with_name("spill.jsonl.delivering")
    spill_file(spill, range(4), bad=[1])
    # Calls: the file's 4 records (rejected), [0, 1] (rejected), [0], [1] (rejected),
    # then [2, 3], which the outage refuses.
    stores.refuse = {5}

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600, spill_path=spill)
        for n in range(4, 8):
            recorder.add(refused(n) if n == 6 else record(n))
        await recorder.flush()
        assert not recorder.database_up
        assert recorder.held == 2 + 4 and recorder.written == 1 and recorder.rejected == 1
        assert read_records(aside) == [record(2), record(3)]  # trimmed to what is left
        # The file, [4, 5, 6, 7] (rejected), [4, 5], then [6, 7], which the outage refuses.
        stores.refuse = {stores.calls + 4}
        await recorder.flush()
        assert not recorder.database_up
        assert recorder.held == 2 and recorder.written == 5 and recorder.rejected == 1
        assert not aside.exists()
        await recorder.flush()
        assert recorder.database_up and recorder.held == 0
        assert recorder.written == 6 and recorder.rejected == 2
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0, 2, 3, 4, 5, 7]
    assert read_records(tmp_path / "rejected-records.jsonl") == [refused(1), refused(6)]


def test_without_a_spill_file_rejected_records_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stores = Stores()

    async def scenario() -> None:
        recorder = Recorder(stores, flush_interval=3600)
        recorder.add(record(0))
        recorder.add(refused(1))
        await recorder.flush()
        assert recorder.database_up and recorder.written == 1 and recorder.rejected == 1
        await recorder.close()

    asyncio.run(scenario())
    assert times(stores.rows) == [0]
    [logged] = [r for r in caplog.records if r.getMessage().startswith("the database rejected")]
    assert logged.levelno == logging.ERROR
    assert logged.getMessage() == (
        "the database rejected 1 lookup record (insert lookup records: text cannot contain NUL);"
        f" no spill file configured, so here they are: {json.dumps(refused(1)._asdict())}"
    )
