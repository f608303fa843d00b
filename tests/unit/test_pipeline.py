"""The lookup pipeline with named test resolvers beside the real one."""

import asyncio
from collections.abc import Awaitable

import pytest

from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import MemoryCache
from numlookup.service.pipeline import Blocks, LookupService
from numlookup.store.base import Account, BlockRule, LookupRecord

OK = Outcome(ResultCode.OK, imsi="24008")
TTL = {ResultCode.OK: 100.0, ResultCode.UNKNOWN_SUBSCRIBER: 10.0}
ALICE = Account("alice", "x", service="portability", max_ongoing=2)


class CountingResolver:
    """Answers at once, like the portability database; counts its calls."""

    service = "portability"
    source = "database"
    counts_as_ongoing = False

    def __init__(self, outcome: Outcome = OK) -> None:
        self.calls = 0
        self.outcome = outcome

    def resolve(self, msisdn: str) -> Outcome:
        self.calls += 1
        return self.outcome


class HeldResolver:
    """Answers only when released, like an HLR that takes its time."""

    service = "portability"
    source = "hlr"
    counts_as_ongoing = True

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    def resolve(self, msisdn: str) -> Awaitable[Outcome]:
        self.calls += 1
        return self._answer()

    async def _answer(self) -> Outcome:
        await self.release.wait()
        return OK


class BrokenDatabaseResolver:
    """Raises at once, like a database that cannot be read."""

    service = "portability"
    source = "database"
    counts_as_ongoing = False

    def resolve(self, msisdn: str) -> Outcome:
        raise OSError("disk I/O error")


class FailingResolver:
    service = "portability"
    source = "hlr"
    counts_as_ongoing = True

    def resolve(self, msisdn: str) -> Awaitable[Outcome]:
        return self._fail()

    async def _fail(self) -> Outcome:
        raise RuntimeError("broken")


def service(resolver: object, blocks: Blocks | None = None) -> LookupService:
    return LookupService({"portability": resolver}, MemoryCache(100, TTL), None, blocks)  # type: ignore[dict-item]


def test_parameter_errors_in_order() -> None:
    svc = service(CountingResolver())
    assert svc.lookup(ALICE, b"").result is ResultCode.MSISDN_NOT_FOUND  # type: ignore[union-attr]
    assert svc.lookup(ALICE, b"msisdn=").result is ResultCode.MSISDN_NOT_FOUND  # type: ignore[union-attr]
    assert svc.lookup(ALICE, b"msisdn=abc").result is ResultCode.MSISDN_INVALID  # type: ignore[union-attr]
    assert svc.lookup(ALICE, b"msisdn=4670810010012345").result is ResultCode.MSISDN_INVALID  # type: ignore[union-attr]
    ranged = Account("bob", "x", accepted_ranges=("358",))
    assert svc.lookup(ranged, b"msisdn=46708100100").result is ResultCode.RANGE_NOT_ACCEPTED  # type: ignore[union-attr]
    assert svc.lookup(ranged, b"msisdn=358401234567") is OK


def test_range_check_comes_before_block() -> None:
    svc = service(CountingResolver(), Blocks([BlockRule("46")]))
    ranged = Account("bob", "x", accepted_ranges=("358",))
    assert svc.lookup(ranged, b"msisdn=46708100100").result is ResultCode.RANGE_NOT_ACCEPTED  # type: ignore[union-attr]


def test_blocks_global_and_per_account() -> None:
    resolver = CountingResolver()
    svc = service(resolver, Blocks([BlockRule("4670"), BlockRule("358", account="alice")]))
    assert svc.lookup(ALICE, b"msisdn=46701234567").result is ResultCode.IMSI_LOOKUP_BLOCKED  # type: ignore[union-attr]
    assert svc.lookup(ALICE, b"msisdn=358401234567").result is ResultCode.IMSI_LOOKUP_BLOCKED  # type: ignore[union-attr]
    bob = Account("bob", "x")
    assert svc.lookup(bob, b"msisdn=358401234567") is OK
    assert resolver.calls == 1


def test_cache_and_nocache() -> None:
    resolver = CountingResolver()
    svc = service(resolver)
    assert svc.lookup(ALICE, b"msisdn=46708100100") is OK
    assert svc.lookup(ALICE, b"msisdn=%2B46708100100") is OK
    assert resolver.calls == 1
    resolver.outcome = Outcome(ResultCode.OK, imsi="24004")
    assert svc.lookup(ALICE, b"msisdn=46708100100&nocache") is resolver.outcome
    assert resolver.calls == 2
    # nocache refreshed the entry.
    assert svc.lookup(ALICE, b"msisdn=46708100100") is resolver.outcome
    assert resolver.calls == 2


def test_ongoing_limit_throttles_at_once_and_frees_when_done() -> None:
    async def scenario() -> None:
        resolver = HeldResolver()
        svc = service(resolver)
        first = svc.lookup(ALICE, b"msisdn=46708100101")
        second = svc.lookup(ALICE, b"msisdn=46708100102")
        assert not isinstance(first, Outcome) and not isinstance(second, Outcome)
        tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
        await asyncio.sleep(0)
        assert svc.ongoing == {"alice": 2}
        third = svc.lookup(ALICE, b"msisdn=46708100103")
        assert third == Outcome(ResultCode.REQUEST_THROTTLED)
        # Another account is not held back by alice's limit.
        other = svc.lookup(Account("bob", "x", max_ongoing=1), b"msisdn=46708100104")
        assert not isinstance(other, Outcome)
        tasks.append(asyncio.ensure_future(other))
        resolver.release.set()
        assert await asyncio.gather(*tasks) == [OK, OK, OK]
        assert svc.ongoing == {}
        again = svc.lookup(ALICE, b"msisdn=46708100105&nocache")
        assert not isinstance(again, Outcome)
        assert await again is OK

    asyncio.run(scenario())


def test_concurrent_identical_misses_make_one_call() -> None:
    async def scenario() -> None:
        resolver = HeldResolver()
        svc = service(resolver)
        account = Account("alice", "x", max_ongoing=100)
        waits = [svc.lookup(account, b"msisdn=46708100100") for _ in range(10)]
        tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[arg-type]
        await asyncio.sleep(0)
        resolver.release.set()
        assert await asyncio.gather(*tasks) == [OK] * 10
        assert resolver.calls == 1
        assert svc.lookup(account, b"msisdn=46708100100") is OK  # cached now
        assert resolver.calls == 1

    asyncio.run(scenario())


def test_a_failing_resolver_is_a_system_failure_not_a_crash() -> None:
    async def scenario() -> None:
        svc = service(FailingResolver())
        answer = svc.lookup(ALICE, b"msisdn=46708100100")
        assert not isinstance(answer, Outcome)
        assert (await answer).result is ResultCode.SYSTEM_FAILURE
        assert svc.ongoing == {}

    asyncio.run(scenario())


def test_a_resolver_raising_at_once_is_a_system_failure_and_not_cached() -> None:
    svc = service(BrokenDatabaseResolver())
    assert svc.lookup(ALICE, b"msisdn=46708100100") == Outcome(ResultCode.SYSTEM_FAILURE)
    assert len(svc.cache) == 0


@pytest.mark.parametrize("service_name", ["realtime"])
def test_an_account_whose_service_has_no_resolver(service_name: str) -> None:
    svc = service(CountingResolver())
    answer = svc.lookup(Account("rt", "x", service=service_name), b"msisdn=46708100100")
    assert answer == Outcome(ResultCode.SYSTEM_FAILURE)


class Records:
    """Keeps what the pipeline hands to the recorder."""

    def __init__(self) -> None:
        self.added: list[LookupRecord] = []

    def add(self, record: LookupRecord) -> None:
        self.added.append(record)


@pytest.mark.parametrize(
    ("query", "recorded"),
    [
        (b"msisdn=%00", "\ufffd"),  # PostgreSQL text holds no NUL
        (b"msisdn=46%0A70%7F81%C2%85x%09", "46\ufffd70\ufffd81\ufffdx\ufffd"),
        (b"msisdn=%C3%A9%E2%82%AC46", "\u00e9\u20ac46"),  # printable text is kept as sent
        (b"msisdn=" + b"%01" * 40, "\ufffd" * 32),
        (b"msisdn=%FF", ""),  # not UTF-8: nothing to show
    ],
)
def test_a_refused_msisdn_is_recorded_as_sent_with_controls_replaced(
    query: bytes, recorded: str
) -> None:
    records = Records()
    svc = LookupService(
        {"portability": CountingResolver()},
        MemoryCache(100, TTL),
        records,  # type: ignore[arg-type]
    )
    assert svc.lookup(ALICE, query) == Outcome(ResultCode.MSISDN_INVALID)
    assert [(r.msisdn, r.result, r.source) for r in records.added] == [
        (recorded, "msisdn is invalid", "none")
    ]
