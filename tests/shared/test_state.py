"""Shared cache and ongoing-request leases on a real Redis, two "servers" at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from numlookup.errors import SharedStoreError
from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import TtlTable
from numlookup.shared.resp import RedisAddress, RedisConnection
from numlookup.shared.state import SharedState, decode, encode
from tests.support.redis import RedisServer

OK = Outcome(ResultCode.OK, imsi="24008", location="SE")
TTL = TtlTable({ResultCode.OK: 100.0, ResultCode.UNKNOWN_SUBSCRIBER: 10.0})


@asynccontextmanager
async def shared(server: RedisServer, lease_seconds: float = 30.0) -> AsyncIterator[SharedState]:
    state = SharedState(
        RedisConnection(RedisAddress.from_url(server.url)), TTL, lease_seconds=lease_seconds
    )
    state.connection.on_connect = state.load_scripts
    await state.connection.start(wait=5.0)
    assert state.up
    try:
        yield state
    finally:
        await state.connection.close()


def run(
    redis_server: RedisServer,
    scenario: Callable[[SharedState, SharedState], Awaitable[None]],
    **kw: float,
) -> None:
    async def both() -> None:
        async with shared(redis_server, **kw) as one, shared(redis_server, **kw) as two:
            await scenario(one, two)

    asyncio.run(both())


async def check(
    state: SharedState, username: str, limit: int | None, service: str, msisdn: str | None
) -> tuple[int, Outcome | None]:
    reply = state.check(username, limit, service, msisdn)
    await asyncio.wait([reply])
    return state.checked(reply)


async def settle(state: SharedState) -> None:
    """Fire-and-forget commands are written by now (one round trip after them)."""
    await state.connection.call("PING")


def test_encode_decode_round_trip() -> None:
    for outcome in (OK, Outcome(ResultCode.UNKNOWN_SUBSCRIBER), Outcome(ResultCode.OK, "24001")):
        assert decode(encode(outcome).encode()) == outcome
    for bad in (b"", b"OK", b"NOPE\x1f\x1f", b"\xff\xfe", b"OK\x1f1\x1f2\x1f3"):
        assert decode(bad) is None


def test_a_put_on_one_server_is_a_hit_on_the_other(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        assert await check(two, "alice", 5, "portability", "46708100100") == (0, None)
        one.put("portability", "46708100100", OK)
        await settle(one)
        assert await check(two, "alice", 5, "portability", "46708100100") == (0, OK)
        # nocache: the cached value is not read.
        assert await check(two, "alice", 5, "portability", None) == (0, None)
        # Another service does not see it.
        assert await check(two, "alice", 5, "realtime", "46708100100") == (0, None)

    run(redis_server, scenario)
    ttl_ms = redis_server.client().pttl("numlookup:cache:portability:0:46708100100")
    assert 90_000 < ttl_ms <= 100_000


def test_transient_outcome_ends_what_was_kept(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        one.put("portability", "4670", OK)
        two.put("portability", "4670", Outcome(ResultCode.SYSTEM_FAILURE))
        await settle(one)
        await settle(two)
        assert await check(one, "alice", 5, "portability", "4670") == (0, None)

    run(redis_server, scenario)


def test_new_generation_misses_old_entries(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        one.put("portability", "4670", OK)
        await settle(one)
        two.set_generation("portability", 7)
        assert await check(two, "alice", 5, "portability", "4670") == (0, None)
        one.set_generation("portability", 7)
        one.put("portability", "4670", Outcome(ResultCode.UNKNOWN_SUBSCRIBER))
        await settle(one)
        assert (await check(two, "alice", 5, "portability", "4670"))[1] == Outcome(
            ResultCode.UNKNOWN_SUBSCRIBER
        )

    run(redis_server, scenario)


def test_unreadable_value_is_a_miss(redis_server: RedisServer) -> None:
    redis_server.client().set("numlookup:cache:portability:0:4670", b"garbage")

    async def scenario(one: SharedState, two: SharedState) -> None:
        assert await check(one, "alice", 5, "portability", "4670") == (0, None)

    run(redis_server, scenario)


def test_leases_count_across_servers(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        first = await one.acquire("alice", 2)
        second = await two.acquire("alice", 2)
        assert first is not None and second is not None and first != second
        assert await one.acquire("alice", 2) is None
        assert await two.acquire("alice", 2) is None
        # At the limit the cache is not even read.
        one.put("portability", "4670", OK)
        await settle(one)
        assert await check(two, "alice", 2, "portability", "4670") == (2, None)
        # Other accounts are not affected.
        assert await two.acquire("bob", 2) is not None
        one.release("alice", first)
        await settle(one)
        assert await check(two, "alice", 2, "portability", "4670") == (1, OK)
        assert await two.acquire("alice", 2) is not None

    run(redis_server, scenario)


def test_concurrent_acquires_never_pass_the_limit(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        leases = await asyncio.gather(
            *(state.acquire("alice", 7) for _ in range(20) for state in (one, two))
        )
        assert sum(lease is not None for lease in leases) == 7

    run(redis_server, scenario)


def test_leases_of_a_dead_server_expire(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        assert await one.acquire("alice", 1) is not None
        assert await two.acquire("alice", 1) is None
        # `one` never releases (its server died); the lease ends by itself.
        for _ in range(100):
            lease = await two.acquire("alice", 1)
            if lease is not None:
                break
            await asyncio.sleep(0.05)
        assert lease is not None

    run(redis_server, scenario, lease_seconds=0.3)
    assert redis_server.client().pttl("numlookup:ongoing:alice") <= 300


def test_without_a_limit_only_the_cache_is_read(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        assert await one.acquire("alice", 1) is not None
        one.put("portability", "4670", OK)
        await settle(one)
        # An account whose lookups hold no lease: a plain GET, no count.
        assert await check(two, "alice", None, "portability", "4670") == (0, OK)
        assert await check(two, "alice", None, "portability", "4671") == (0, None)
        assert await check(two, "alice", 1, "portability", "4670") == (1, None)

    run(redis_server, scenario)


def test_a_flushed_script_cache_costs_one_lookup(redis_server: RedisServer) -> None:
    async def scenario(one: SharedState, two: SharedState) -> None:
        one.put("portability", "4670", OK)
        await settle(one)
        redis_server.client().script_flush()
        with pytest.raises(SharedStoreError, match="NOSCRIPT"):
            await check(one, "alice", 5, "portability", "4670")
        # From then on the script is sent whole (and so cached by Redis again).
        assert await check(one, "alice", 5, "portability", "4670") == (0, OK)

    run(redis_server, scenario)
