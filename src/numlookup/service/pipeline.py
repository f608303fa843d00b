"""The request pipeline of one lookup, after authentication:

    parse query -> msisdn present -> msisdn valid -> accepted range -> block
    -> ongoing-request limit -> cache -> resolve -> cache store -> record

Each step is a short function; a refusal raises the LookupRefused subclass that
names its result code. Resolvers may answer at once (the portability database)
or return an awaitable (a live HLR query); a live query is "ongoing" and counted
against the account's limit, and concurrent misses for the same number share
one resolver call.

With Redis configured (`shared`), the cache and the ongoing counts are those of
every server: one round trip reads both, and a live query first takes a lease
on one of the account's places. When Redis cannot be reached the lookup goes
the local way instead (this server's cache and counts), which the server also
keeps up to date while Redis works, so an outage starts from a warm cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Iterable, Mapping
from typing import Protocol

from numlookup.errors import (
    LookupBlocked,
    LookupRefused,
    MsisdnMissing,
    RangeNotAccepted,
    SharedStoreError,
)
from numlookup.numbers.msisdn import mask, normalize
from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import Cache
from numlookup.service.prefixes import PrefixSet
from numlookup.service.records import Recorder
from numlookup.shared.state import SharedState
from numlookup.store.base import Account, BlockRule, LookupRecord
from numlookup.wire.query import parse_lookup_query

log = logging.getLogger(__name__)

REFUSED: dict[ResultCode, Outcome] = {code: Outcome(code) for code in ResultCode}
# What a raw msisdn parameter may put in a lookup record at most.
RECORD_MSISDN_MAX = 32
# Control characters (C0, DEL, C1) of a raw msisdn are recorded as U+FFFD: a
# record must fit every store (PostgreSQL text holds no NUL) and print safely
# in an export or a log line.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], "\ufffd")


class Resolver(Protocol):
    service: str  # the account service it answers for
    source: str  # what lookup records name as the source: "database", "hlr"

    # Whether an answer in progress counts against the account's limit of ongoing
    # requests: a live HLR query does; a database look-up, however it waits, does not.
    counts_as_ongoing: bool

    def resolve(self, msisdn: str) -> Outcome | Awaitable[Outcome]: ...


class Blocks:
    """Block rules, global and per account, as prefix sets."""

    def __init__(self, rules: Iterable[BlockRule] = ()) -> None:
        global_prefixes: list[str] = []
        per_account: dict[str, list[str]] = {}
        for rule in rules:
            if rule.account is None:
                global_prefixes.append(rule.prefix)
            else:
                per_account.setdefault(rule.account, []).append(rule.prefix)
        self._global = PrefixSet(global_prefixes)
        self._accounts = {name: PrefixSet(p) for name, p in per_account.items()}

    def blocked(self, username: str, msisdn: str) -> bool:
        if self._global.matches(msisdn):
            return True
        own = self._accounts.get(username)
        return own is not None and own.matches(msisdn)


class LookupService:
    def __init__(
        self,
        resolvers: Mapping[str, Resolver],
        cache: Cache,
        recorder: Recorder | None,
        blocks: Blocks | None = None,
        *,
        shared: SharedState | None = None,
        show_msisdn: bool = False,
        log_lookups: bool = False,
    ) -> None:
        self.resolvers = dict(resolvers)
        self.cache = cache
        self.recorder = recorder
        self.blocks = blocks or Blocks()
        self.shared = shared
        # For the metrics: answers by (result, source), and lookups that went the
        # local way because Redis was unreachable.
        self.answered: Counter[tuple[str, str]] = Counter()
        self.local_fallbacks = 0
        self.ongoing: dict[str, int] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[Outcome]] = {}
        self._ranges: dict[tuple[str, ...], PrefixSet] = {}
        self._show_msisdn = show_msisdn
        self._log_lookups = log_lookups

    # -------------------------------------------------------------- steps

    def _msisdn(self, query: bytes) -> tuple[str, bool]:
        parsed = parse_lookup_query(query)
        if not parsed.msisdn:
            raise MsisdnMissing()
        return normalize(parsed.msisdn), parsed.nocache

    def _admit(self, account: Account, msisdn: str) -> None:
        if account.accepted_ranges:
            ranges = self._ranges.get(account.accepted_ranges)
            if ranges is None:
                ranges = self._ranges[account.accepted_ranges] = PrefixSet(account.accepted_ranges)
            if not ranges.matches(msisdn):
                raise RangeNotAccepted()
        if self.blocks.blocked(account.username, msisdn):
            raise LookupBlocked()

    # -------------------------------------------------------------- entry

    def lookup(self, account: Account, query: bytes) -> Outcome | Awaitable[Outcome]:
        """Answer one lookup for an authenticated account."""
        started = time.perf_counter()
        try:
            msisdn, nocache = self._msisdn(query)
            self._admit(account, msisdn)
        except LookupRefused as exc:
            outcome = REFUSED[exc.result]
            self._record(account, _raw_msisdn(query), outcome, "none", started)
            return outcome
        shared = self.shared
        if shared is not None:
            if shared.up:
                return self._lookup_shared(shared, account, msisdn, nocache, started)
            self.local_fallbacks += 1
        return self._lookup_local(account, msisdn, nocache, started)

    def _lookup_local(
        self, account: Account, msisdn: str, nocache: bool, started: float
    ) -> Outcome | Awaitable[Outcome]:
        """Ongoing counts and cache of this server alone (no Redis, or Redis down)."""
        if self.ongoing.get(account.username, 0) >= account.max_ongoing:
            return self._refuse(account, msisdn, ResultCode.REQUEST_THROTTLED, started)
        if not nocache:  # the hot path: a hit asks for nothing else
            hit = self.cache.get(account.service, msisdn)
            if hit is not None:
                self._record(account, msisdn, hit, "cache", started)
                return hit
        found = self._hit_or_resolver(account, msisdn, None, started)
        if isinstance(found, Outcome):
            return found
        return self._resolve(account, msisdn, found, started, None)

    def _lookup_shared(
        self, shared: SharedState, account: Account, msisdn: str, nocache: bool, started: float
    ) -> Outcome | Awaitable[Outcome]:
        """Ongoing counts and cache shared by every server, in Redis.

        One round trip reads both (only the cache for an account whose lookups
        never count as ongoing); the reply is handled in a callback, so a cache
        hit costs no task.
        """
        resolver = self.resolvers.get(account.service)
        counted = resolver is not None and resolver.counts_as_ongoing
        if nocache and not counted:
            return self._after_check(shared, account, msisdn, None, started)
        try:
            reply = shared.check(
                account.username,
                account.max_ongoing if counted else None,
                account.service,
                None if nocache else msisdn,
            )
        except SharedStoreError:
            self.local_fallbacks += 1
            return self._lookup_local(account, msisdn, nocache, started)
        result: asyncio.Future[Outcome] = reply.get_loop().create_future()

        def checked(reply: asyncio.Future[object]) -> None:
            if result.done():
                return
            try:
                ongoing, hit = shared.checked(reply)
            except SharedStoreError:
                self.local_fallbacks += 1
                _settle(result, self._lookup_local(account, msisdn, nocache, started))
                return
            if ongoing >= account.max_ongoing:
                code = ResultCode.REQUEST_THROTTLED
                result.set_result(self._refuse(account, msisdn, code, started))
                return
            _settle(result, self._after_check(shared, account, msisdn, hit, started))

        reply.add_done_callback(checked)
        return result

    def _after_check(
        self,
        shared: SharedState,
        account: Account,
        msisdn: str,
        hit: Outcome | None,
        started: float,
    ) -> Outcome | Awaitable[Outcome]:
        found = self._hit_or_resolver(account, msisdn, hit, started)
        if isinstance(found, Outcome):
            return found
        if found.counts_as_ongoing:
            return self._leased(shared, account, msisdn, found, started)
        return self._resolve(account, msisdn, found, started, None)

    async def _leased(
        self, shared: SharedState, account: Account, msisdn: str, resolver: Resolver, started: float
    ) -> Outcome:
        """A lookup that counts as ongoing: first a lease on one of the account's places."""
        username, limit = account.username, account.max_ongoing
        lease = None
        try:
            lease = await shared.acquire(username, limit)
        except SharedStoreError:
            self.local_fallbacks += 1
            if self.ongoing.get(username, 0) >= limit:
                return self._refuse(account, msisdn, ResultCode.REQUEST_THROTTLED, started)
        else:
            if lease is None:  # another server took the last place meanwhile
                return self._refuse(account, msisdn, ResultCode.REQUEST_THROTTLED, started)
        return await _settled(self._resolve(account, msisdn, resolver, started, lease))

    def _hit_or_resolver(
        self, account: Account, msisdn: str, hit: Outcome | None, started: float
    ) -> Outcome | Resolver:
        """The cached answer, or else the resolver to ask (SYSTEM_FAILURE if none)."""
        if hit is not None:
            self._record(account, msisdn, hit, "cache", started)
            return hit
        resolver = self.resolvers.get(account.service)
        if resolver is None:
            log.error("no resolver for service %r (account %s)", account.service, account.username)
            return self._refuse(account, msisdn, ResultCode.SYSTEM_FAILURE, started)
        return resolver

    def _refuse(self, account: Account, msisdn: str, code: ResultCode, started: float) -> Outcome:
        outcome = REFUSED[code]
        self._record(account, msisdn, outcome, "none", started)
        return outcome

    def _resolve(
        self,
        account: Account,
        msisdn: str,
        resolver: Resolver,
        started: float,
        lease: str | None,
    ) -> Outcome | Awaitable[Outcome]:
        service = account.service
        key = (service, msisdn)
        shared = self._inflight.get(key)
        if shared is None:
            try:
                answer = resolver.resolve(msisdn)
            except Exception:
                log.exception("resolver failed for %s", self._show(msisdn))
                answer = REFUSED[ResultCode.SYSTEM_FAILURE]
            if isinstance(answer, Outcome):
                self._release(account, lease)
                self._keep(service, msisdn, answer)
                self._record(account, msisdn, answer, resolver.source, started)
                return answer
            shared = self._start(key, answer)
        counted = resolver.counts_as_ongoing
        if counted:
            self.ongoing[account.username] = self.ongoing.get(account.username, 0) + 1
        return self._wait(account, msisdn, shared, resolver.source, started, counted, lease)

    def _keep(self, service: str, msisdn: str, outcome: Outcome) -> None:
        self.cache.put(service, msisdn, outcome)
        if self.shared is not None:
            self.shared.put(service, msisdn, outcome)

    def _release(self, account: Account, lease: str | None) -> None:
        if lease is not None and self.shared is not None:
            self.shared.release(account.username, lease)

    def _start(self, key: tuple[str, str], answer: Awaitable[Outcome]) -> asyncio.Future[Outcome]:
        future = asyncio.ensure_future(answer)
        self._inflight[key] = future

        def done(f: asyncio.Future[Outcome]) -> None:
            self._inflight.pop(key, None)
            if not f.cancelled() and f.exception() is None:
                self._keep(key[0], key[1], f.result())

        future.add_done_callback(done)
        return future

    async def _wait(
        self,
        account: Account,
        msisdn: str,
        shared: asyncio.Future[Outcome],
        source: str,
        started: float,
        counted: bool,
        lease: str | None,
    ) -> Outcome:
        try:
            outcome = await asyncio.shield(shared)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resolver failed for %s", self._show(msisdn))
            outcome = REFUSED[ResultCode.SYSTEM_FAILURE]
        finally:
            self._release(account, lease)
            if counted:
                left = self.ongoing.get(account.username, 1) - 1
                if left > 0:
                    self.ongoing[account.username] = left
                else:
                    self.ongoing.pop(account.username, None)
        self._record(account, msisdn, outcome, source, started)
        return outcome

    # -------------------------------------------------------------- records

    def _show(self, msisdn: str) -> str:
        return msisdn if self._show_msisdn else mask(msisdn)

    def _record(
        self, account: Account, msisdn: str, outcome: Outcome, source: str, started: float
    ) -> None:
        latency_us = int((time.perf_counter() - started) * 1e6)
        # `_name_` and `_value_`, not the `name` and `value` properties: twice on
        # every request, the properties cost ~80 ns each.
        result = outcome.result
        self.answered[result._name_, source] += 1
        if self.recorder is not None:
            self.recorder.add(
                LookupRecord(
                    time.time(),
                    account.username,
                    msisdn,
                    result._value_,
                    outcome.imsi,
                    outcome.location,
                    source,
                    latency_us,
                )
            )
        if self._log_lookups:
            log.info(
                "lookup account=%s msisdn=%s result=%s imsi=%s source=%s latency_us=%d",
                account.username,
                self._show(msisdn),
                outcome.result.name,
                outcome.imsi or "",
                source,
                latency_us,
            )


async def _settled(answer: Outcome | Awaitable[Outcome]) -> Outcome:
    return answer if isinstance(answer, Outcome) else await answer


def _settle(result: asyncio.Future[Outcome], answer: Outcome | Awaitable[Outcome]) -> None:
    """Give `result` the answer, now or when it comes."""
    if isinstance(answer, Outcome):
        result.set_result(answer)
        return
    pending = asyncio.ensure_future(answer)

    def copy(done: asyncio.Future[Outcome]) -> None:
        if result.done():
            return
        if done.cancelled():
            result.cancel()
        elif (exc := done.exception()) is not None:
            result.set_exception(exc)
        else:
            result.set_result(done.result())

    pending.add_done_callback(copy)


def _raw_msisdn(query: bytes) -> str:
    """The msisdn parameter as sent, for the record of a refused lookup."""
    try:
        value = parse_lookup_query(query).msisdn
    except LookupRefused:
        return ""
    return (value or "")[:RECORD_MSISDN_MAX].translate(_CONTROLS)
