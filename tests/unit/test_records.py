"""The batching record writer, against a store that can be made to fail."""

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from numlookup.service.records import Recorder
from numlookup.store.base import LookupRecord


class ListStore:
    """Keeps inserted records in a list; refuses while `broken`."""

    def __init__(self) -> None:
        self.rows: list[LookupRecord] = []
        self.broken = False
        self.closed = False

    def insert_records(self, records: Sequence[LookupRecord]) -> None:
        if self.broken:
            raise OSError("disk on fire")
        self.rows.extend(records)

    def close(self) -> None:
        self.closed = True


def record(n: int) -> LookupRecord:
    return LookupRecord(float(n), "demo", f"4670810{n:04d}", "OK", "24008", None, "database", 5)


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
