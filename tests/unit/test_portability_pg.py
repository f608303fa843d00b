"""The PostgreSQL portability resolver against its in-memory test peer.

The store's threads are real; the store is MemoryPortedStore, which can be made
to refuse (`down`) or to hang (`stall`). The same resolver on a real PostgreSQL
is checked in tests/store/test_store_postgres.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import pytest

from numlookup.errors import StoreError
from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import MemoryCache
from numlookup.service.pipeline import LookupService
from numlookup.service.portability import PortabilityResolver
from numlookup.service.portability_pg import MemoryPortedStore, PostgresPortabilityResolver
from numlookup.store.base import Account, Store

T = TypeVar("T")

PORTED = [("46708100200", "24004"), ("4915112345678", "26202")]
RANGES = [("4670", "24001"), ("46708", "24008"), ("49151", "26201"), ("1425", "310260")]
FAILURE = Outcome(ResultCode.SYSTEM_FAILURE)
LOGGER = "numlookup.service.portability_pg"


def ok(imsi: str) -> Outcome:
    return Outcome(ResultCode.OK, imsi=imsi)


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


class Opened:
    """A store factory that hands out one shared MemoryPortedStore and counts the calls."""

    def __init__(self, store: MemoryPortedStore) -> None:
        self.store = store
        self.count = 0

    def __call__(self) -> MemoryPortedStore:
        self.count += 1
        if self.store.down:
            raise StoreError("connect to memory: connection refused")
        return self.store


async def answers(resolver: PostgresPortabilityResolver, numbers: list[str]) -> list[Outcome]:
    return list(await asyncio.gather(*[resolver.resolve(n) for n in numbers]))


async def wait_stalled(store: MemoryPortedStore, count: int = 1) -> None:
    """Until `count` look-ups wait in the stalled store (on a thread: the loop runs on)."""
    for _ in range(count):
        assert await asyncio.to_thread(store.stalled.acquire, True, 10)


def messages(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(start)]


def test_answers_as_the_portability_resolver() -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    oracle = PortabilityResolver(cast(Store, store))
    numbers = [
        "46708100200",  # ported, inside a range of another network
        "46708100201",  # the longest range
        "46701234567",  # a shorter range
        "4915112345678",  # ported
        "4915112345679",
        "14252601234",
        "33612345678",  # in no range
        "",
        "abc",
        "046708100200",
        "46708100200",  # twice in one batch
    ]

    async def scenario() -> list[Outcome]:
        resolver = PostgresPortabilityResolver(Opened(store))
        resolver.start()
        try:
            return await answers(resolver, numbers)
        finally:
            await resolver.close()

    found = run(scenario)
    assert found == [oracle.resolve(n) for n in numbers]
    assert found[:3] == [ok("24004"), ok("24008"), ok("24001")]
    assert found[6] == Outcome(ResultCode.UNKNOWN_SUBSCRIBER)


def test_the_resolver_is_a_database_source_that_does_not_count_as_ongoing() -> None:
    assert PostgresPortabilityResolver.service == "portability"
    assert PostgresPortabilityResolver.source == "database"
    assert PostgresPortabilityResolver.counts_as_ongoing is False


def test_lookups_of_one_loop_turn_go_as_one_batch() -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store), threads=1)
        resolver.start()
        await answers(resolver, ["46708100200", "46708100201", "46708100200", "33612345678"])
        await resolver.close()

    run(scenario)
    assert store.batches == [["46708100200", "46708100201", "33612345678"]]


def test_lookups_made_while_a_batch_is_out_go_as_the_next_batch() -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> list[Outcome]:
        resolver = PostgresPortabilityResolver(Opened(store), threads=1, max_batch=3)
        resolver.start()
        store.stall()
        first = resolver.resolve("46708100200")
        await wait_stalled(store)
        later = [resolver.resolve(f"4670810030{n}") for n in range(7)]
        store.release()
        found = [await first, *[await f for f in later]]
        await resolver.close()
        return found

    found = run(scenario)
    assert found == [ok("24004")] + [ok("24008")] * 7
    assert store.batches == [
        ["46708100200"],
        ["46708100300", "46708100301", "46708100302"],
        ["46708100303", "46708100304", "46708100305"],
        ["46708100306"],
    ]


def test_batches_go_to_every_thread() -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    opened = Opened(store)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(opened, threads=3)
        resolver.start()
        store.stall()
        pending = [resolver.resolve("46708100200")]
        await wait_stalled(store)
        pending.append(resolver.resolve("46708100201"))
        await wait_stalled(store)
        pending.append(resolver.resolve("46708100202"))
        await wait_stalled(store)  # three at once: one per thread
        store.release()
        assert await asyncio.gather(*pending) == [ok("24004"), ok("24008"), ok("24008")]
        await resolver.close()

    run(scenario)
    assert opened.count == 1 + 3  # the ranges' store, then one per thread
    assert sorted(store.batches) == [["46708100200"], ["46708100201"], ["46708100202"]]


def test_an_outage_answers_system_failure_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    opened = Opened(store)
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(opened, threads=2, retry_interval=0)
        resolver.start()
        assert await resolver.resolve("46708100200") == ok("24004")
        store.down = True
        for n in range(5):  # each an attempt of its own (no retry interval)
            assert await answers(resolver, [f"4670810030{n}", "46708100200"]) == [FAILURE] * 2
        assert not resolver.database_up
        store.down = False
        assert await resolver.resolve("46708100200") == ok("24004")
        assert resolver.database_up
        await resolver.close()

    run(scenario)
    unreachable = messages(caplog, "database unreachable")
    assert len(unreachable) == 1
    assert "connection refused" in unreachable[0]
    assert messages(caplog, "database back") == [
        "database back: portability lookups answered again (10 answered SYSTEM_FAILURE meanwhile)"
    ]
    assert opened.count >= 1 + 5  # each failed attempt dropped its store: a new one each time


def test_during_an_outage_lookups_fail_at_once_without_asking_the_database() -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store), retry_interval=3600)
        resolver.start()
        store.down = True
        assert await resolver.resolve("46708100200") == FAILURE
        attempts = store.attempts
        for _ in range(20):
            assert await resolver.resolve("46708100200") == FAILURE
        assert store.attempts == attempts
        await resolver.close()

    run(scenario)


def test_a_stalled_database_answers_system_failure_without_blocking_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(
            Opened(store), threads=1, timeout=0.2, retry_interval=0
        )
        resolver.start()
        store.stall()
        first = resolver.resolve("46708100200")
        await wait_stalled(store)
        # The only thread is stuck: later lookups wait their turn, and time out too.
        later = resolver.resolve("46708100201")
        assert await first == FAILURE
        assert await later == FAILURE
        assert not resolver.database_up
        store.release()  # the late answer is dropped; the thread is free again
        # The next batch waits for the thread, which comes back well within its time.
        assert await resolver.resolve("46708100200") == ok("24004")
        assert store.batches == [["46708100200"], ["46708100200"]]
        assert resolver.database_up
        await resolver.close()

    run(scenario)
    assert messages(caplog, "database unreachable") == [
        "database unreachable (no answer within 0.2 s): portability lookups answer"
        " SYSTEM_FAILURE until it is back"
    ]
    assert len(messages(caplog, "database back")) == 1


def test_reload_reads_the_ranges_again_from_another_thread() -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store))
        resolver.start()
        assert await resolver.resolve("33612345678") == Outcome(ResultCode.UNKNOWN_SUBSCRIBER)
        store.ranges.append(("336", "20801"))
        await asyncio.to_thread(resolver.reload)
        assert await resolver.resolve("33612345678") == ok("20801")
        await resolver.close()

    run(scenario)


def test_a_failed_reload_raises_and_the_next_one_opens_a_new_store() -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    opened = Opened(store)
    resolver = PostgresPortabilityResolver(opened)
    store.down = True
    with pytest.raises(StoreError):
        resolver.reload()
    store.down = False
    resolver.reload()
    assert opened.count == 2


def test_the_ranges_are_read_when_made() -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    store.down = True
    with pytest.raises(StoreError):
        PostgresPortabilityResolver(Opened(store))


def test_close_answers_what_waits_and_stops_the_threads() -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store), threads=1)
        resolver.start()
        store.stall()
        first = resolver.resolve("46708100200")
        await wait_stalled(store)
        waiting = resolver.resolve("46708100201")
        closing = asyncio.ensure_future(resolver.close())
        assert await waiting == FAILURE  # never sent
        store.release()
        await closing
        assert await first == ok("24004")  # the batch out finished
        assert await resolver.resolve("46708100200") == FAILURE  # closed
        assert store.closed

    run(scenario)


def test_close_leaves_a_stuck_thread_behind(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryPortedStore(PORTED, RANGES)

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store), threads=1, timeout=0.05)
        resolver.start()
        store.stall()
        first = resolver.resolve("46708100200")
        await wait_stalled(store)
        await resolver.close()
        assert await first == FAILURE

    try:
        run(scenario)
    finally:
        store.release()
    assert messages(caplog, "1 database threads still busy at close")


def test_resolve_before_start_is_an_error() -> None:
    resolver = PostgresPortabilityResolver(Opened(MemoryPortedStore()))
    with pytest.raises(RuntimeError, match="start"):
        resolver.resolve("46708100200")


# ----------------------------------------------------------------- pipeline


def test_in_the_pipeline_failures_are_not_cached() -> None:
    store = MemoryPortedStore(PORTED, RANGES)
    account = Account("demo", "x")

    async def scenario() -> None:
        resolver = PostgresPortabilityResolver(Opened(store), retry_interval=0)
        resolver.start()
        cache = MemoryCache(100, {ResultCode.OK: 3600})
        service = LookupService({"portability": resolver}, cache, None)

        async def lookup(msisdn: str) -> Outcome:
            answer = service.lookup(account, f"msisdn={msisdn}".encode())
            if isinstance(answer, Outcome):
                return answer
            return await cast(Awaitable[Outcome], answer)

        store.down = True
        assert await lookup("46708100200") == FAILURE
        assert cache.get("portability", "46708100200") is None
        store.down = False
        assert await lookup("46708100200") == ok("24004")
        assert cache.get("portability", "46708100200") == ok("24004")
        store.down = True
        assert await lookup("46708100200") == ok("24004")  # from the cache
        await resolver.close()

    run(scenario)
