from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import MemoryCache

OK = Outcome(ResultCode.OK, imsi="24008")
UNKNOWN = Outcome(ResultCode.UNKNOWN_SUBSCRIBER)
TTL = {ResultCode.OK: 100.0, ResultCode.UNKNOWN_SUBSCRIBER: 10.0}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hit_until_its_ttl_runs_out() -> None:
    clock = Clock()
    cache = MemoryCache(10, TTL, clock)
    cache.put("portability", "46708100100", OK)
    cache.put("portability", "46708100999", UNKNOWN)
    clock.now += 9.9
    assert cache.get("portability", "46708100100") is OK
    assert cache.get("portability", "46708100999") is UNKNOWN
    clock.now += 0.2
    assert cache.get("portability", "46708100999") is None
    assert cache.get("portability", "46708100100") is OK
    clock.now += 100
    assert cache.get("portability", "46708100100") is None
    assert len(cache) == 0


def test_services_are_kept_apart() -> None:
    cache = MemoryCache(10, TTL, Clock())
    cache.put("portability", "46708100100", OK)
    assert cache.get("realtime", "46708100100") is None


def test_transient_outcomes_are_not_cached_and_end_an_old_entry() -> None:
    cache = MemoryCache(10, {**TTL, ResultCode.TIMEOUT: 50.0}, Clock())
    cache.put("portability", "1", OK)
    cache.put("portability", "1", Outcome(ResultCode.TIMEOUT))
    assert cache.get("portability", "1") is None
    for code in (
        ResultCode.SYSTEM_FAILURE,
        ResultCode.REQUEST_THROTTLED,
        ResultCode.MSISDN_INVALID,
    ):
        cache.put("portability", "2", Outcome(code))
        assert cache.get("portability", "2") is None


def test_bounded_least_recently_used_goes_first() -> None:
    cache = MemoryCache(3, TTL, Clock())
    for n in "123":
        cache.put("portability", n, OK)
    assert cache.get("portability", "1") is OK  # 1 is now the most recent
    cache.put("portability", "4", OK)
    assert len(cache) == 3
    assert cache.get("portability", "2") is None
    assert cache.get("portability", "1") is OK


def test_clear_one_service() -> None:
    cache = MemoryCache(10, TTL, Clock())
    cache.put("portability", "1", OK)
    cache.put("realtime", "1", OK)
    cache.clear("portability")
    assert cache.get("portability", "1") is None
    assert cache.get("realtime", "1") is OK
    cache.clear()
    assert len(cache) == 0


def test_eviction_takes_from_the_largest_service() -> None:
    cache = MemoryCache(4, TTL, Clock())
    cache.put("realtime", "r1", OK)
    for n in "1234":
        cache.put("portability", n, OK)
    assert len(cache) == 4
    assert cache.get("realtime", "r1") is OK
    assert cache.get("portability", "1") is None


def test_entries_hold_nothing_the_garbage_collector_must_walk() -> None:
    import gc

    cache = MemoryCache(1000, TTL, Clock())
    for n in range(500):
        cache.put("portability", str(n), Outcome(ResultCode.OK, imsi="24008"))
    gc.collect()
    entries = cache._services["portability"]
    assert not any(gc.is_tracked(value) for value in entries.values())
    assert not any(gc.is_tracked(key) for key in entries)
    # Equal outcomes are kept once.
    assert len(cache._outcomes) == 1


def test_a_service_can_have_its_own_ttls() -> None:
    clock = Clock()
    cache = MemoryCache(10, TTL, clock, service_ttl={"realtime": {ResultCode.OK: 5.0}})
    cache.put("portability", "1", OK)
    cache.put("realtime", "1", OK)
    cache.put("realtime", "2", UNKNOWN)  # not in realtime's table: not cached
    clock.now += 6
    assert cache.get("portability", "1") is OK
    assert cache.get("realtime", "1") is None
    assert cache.get("realtime", "2") is None
