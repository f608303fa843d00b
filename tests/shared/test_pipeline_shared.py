"""Two lookup services ("servers") sharing one real Redis: cache and ongoing limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import MemoryCache
from numlookup.service.pipeline import LookupService
from numlookup.store.base import Account
from tests.shared.test_state import settle, shared
from tests.support.redis import RedisServer
from tests.unit.test_pipeline import OK, CountingResolver, HeldResolver

ALICE = Account("alice", "x", service="portability", max_ongoing=2)


def service(resolver: object, state: object) -> LookupService:
    return LookupService(
        {"portability": resolver},  # type: ignore[dict-item]
        MemoryCache(100, {ResultCode.OK: 100.0}),
        None,
        shared=state,  # type: ignore[arg-type]
    )


async def answer(result: Outcome | Awaitable[Outcome]) -> Outcome:
    return result if isinstance(result, Outcome) else await result


def test_a_lookup_cached_through_one_server_is_a_hit_on_the_other(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        async with shared(redis_server) as one, shared(redis_server) as two:
            resolver_a, resolver_b = CountingResolver(), CountingResolver()
            a, b = service(resolver_a, one), service(resolver_b, two)
            assert await answer(a.lookup(ALICE, b"msisdn=46708100100")) == OK
            await settle(one)
            assert await answer(b.lookup(ALICE, b"msisdn=46708100100")) == OK
            assert (resolver_a.calls, resolver_b.calls) == (1, 0)
            # nocache on the other server asks again and refreshes the shared entry.
            resolver_b.outcome = Outcome(ResultCode.OK, imsi="24001")
            fresh = await answer(b.lookup(ALICE, b"msisdn=46708100100&nocache"))
            assert fresh.imsi == "24001" and resolver_b.calls == 1
            await settle(two)
            assert (await answer(a.lookup(ALICE, b"msisdn=46708100100"))).imsi == "24001"
            assert resolver_a.calls == 1

    asyncio.run(scenario())


def test_the_ongoing_limit_holds_across_servers(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        async with shared(redis_server) as one, shared(redis_server) as two:
            held = HeldResolver()
            a, b = service(held, one), service(HeldResolver(), two)
            first = asyncio.ensure_future(answer(a.lookup(ALICE, b"msisdn=46708100101")))
            second = asyncio.ensure_future(answer(a.lookup(ALICE, b"msisdn=46708100102")))
            for _ in range(100):
                if held.calls == 2:
                    break
                await asyncio.sleep(0.01)
            assert held.calls == 2
            refused = await answer(b.lookup(ALICE, b"msisdn=46708100103"))
            assert refused.result is ResultCode.REQUEST_THROTTLED
            held.release.set()
            assert (await first, await second) == (OK, OK)
            await settle(one)
            # Leases released: the other server admits the account again.
            b_resolver = b.resolvers["portability"]
            assert isinstance(b_resolver, HeldResolver)
            b_resolver.release.set()
            assert await answer(b.lookup(ALICE, b"msisdn=46708100103")) == OK

    asyncio.run(scenario())


def test_redis_down_answers_the_local_way(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        async with shared(redis_server) as one:
            resolver = CountingResolver()
            a = service(resolver, one)
            assert await answer(a.lookup(ALICE, b"msisdn=46708100100")) == OK
            redis_server.stop()
            for _ in range(200):
                if not one.up:
                    break
                await asyncio.sleep(0.02)
            # Answered from this server's own cache, kept warm while Redis worked.
            assert await answer(a.lookup(ALICE, b"msisdn=46708100100")) == OK
            assert resolver.calls == 1
            assert await answer(a.lookup(ALICE, b"msisdn=46708100199")) == OK
            assert resolver.calls == 2
            redis_server.start()

    asyncio.run(scenario())


def test_redis_lost_mid_lookup_falls_back(redis_server: RedisServer) -> None:
    """A command that fails (not yet noticed as down) still gets an answer."""

    async def scenario() -> None:
        async with shared(redis_server) as one:
            a = service(CountingResolver(), one)
            await one.connection.call("CLIENT", "KILL", "SKIPME", "no")
            assert await answer(a.lookup(ALICE, b"msisdn=46708100100")) == OK

    asyncio.run(scenario())
