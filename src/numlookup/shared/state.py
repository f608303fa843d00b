"""The cache and the ongoing-request counts every server shares, in Redis.

Keys (all under a configurable prefix, so deployments can share one Redis):

    <prefix>cache:<service>:<generation>:<msisdn>   outcome, expiring after its TTL
    <prefix>ongoing:<account>                      sorted set: lease id -> expiry (ms)

A cached outcome is its result code name, IMSI and location joined by US
(0x1F). The generation is the portability data's version: after an import
every server moves to new keys, and the old ones simply expire (no scan of
millions of keys to empty the cache).

An ongoing request holds a lease: a member of the account's sorted set whose
score is when it expires, taken and counted in one script so two servers can
not both take the last free place. A server that dies leaves its leases behind
only until they expire, `lease_seconds` after they were taken. The time is
Redis's own (TIME), so servers' clocks do not matter.

Redis Cluster is not supported: the scripts use one key each, but the key
layout has no hash tags. One Redis (with a replica and Sentinel, if wanted).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from typing import Any

from numlookup.errors import SharedStoreError
from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import TtlTable
from numlookup.shared.resp import RedisConnection

SEPARATOR = "\x1f"
_DECODED_MAX = 4096  # distinct cached values remembered as Outcome objects

# KEYS[1] the account's leases, KEYS[2] the cache key ('' when not to be read);
# ARGV[1] the account's limit. -> {live leases, cached value or nil}
CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if n >= tonumber(ARGV[1]) or KEYS[2] == '' then return {n, false} end
return {n, redis.call('GET', KEYS[2])}
"""

# KEYS[1] the account's leases; ARGV[1] limit, ARGV[2] lease ms, ARGV[3] lease id.
# -> 1 taken, 0 the account is at its limit.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end
return 1
"""


def encode(outcome: Outcome) -> str:
    return SEPARATOR.join((outcome.result.name, outcome.imsi or "", outcome.location or ""))


def decode(value: bytes) -> Outcome | None:
    """The outcome a cache value holds; None for anything else (treated as a miss)."""
    try:
        name, imsi, location = value.decode("utf-8").split(SEPARATOR)
        result = ResultCode[name]
    except (UnicodeDecodeError, ValueError, KeyError):
        return None
    return Outcome(result, imsi or None, location or None)


class SharedState:
    def __init__(
        self,
        connection: RedisConnection,
        ttl: TtlTable,
        *,
        prefix: str = "numlookup:",
        lease_seconds: float = 30.0,
    ) -> None:
        self.connection = connection
        self._ttl = ttl
        self._prefix = prefix
        self._lease_ms = max(1, int(lease_seconds * 1000))
        self._generation: dict[str, int] = {}
        self._decoded: dict[bytes, Outcome | None] = {}
        # Unique across servers and restarts: a lease never names another's.
        self._lease_ids = (f"{secrets.token_hex(4)}.{os.getpid()}.{n}" for n in itertools.count())
        self._sha: dict[str, str] = {}

    @property
    def up(self) -> bool:
        return self.connection.up

    async def load_scripts(self, connection: RedisConnection) -> None:
        """Connect hook: have Redis compile the scripts once per connection."""
        for script in (CHECK, ACQUIRE):
            sha = await connection.call("SCRIPT", "LOAD", script)
            self._sha[script] = sha.decode() if isinstance(sha, bytes) else str(sha)

    async def _eval(self, script: str, keys: tuple[str, ...], *args: str | int) -> Any:
        sha = self._sha.get(script)
        if sha is not None:
            try:
                return await self.connection.call("EVALSHA", sha, len(keys), *keys, *args)
            except SharedStoreError as exc:
                if "NOSCRIPT" not in str(exc):
                    raise
        return await self.connection.call("EVAL", script, len(keys), *keys, *args)

    # ------------------------------------------------------------------ keys

    def set_generation(self, service: str, generation: int) -> None:
        """Cache keys of `service` from now on carry `generation` (its data version)."""
        self._generation[service] = generation

    def cache_key(self, service: str, msisdn: str) -> str:
        return f"{self._prefix}cache:{service}:{self._generation.get(service, 0)}:{msisdn}"

    def ongoing_key(self, username: str) -> str:
        return f"{self._prefix}ongoing:{username}"

    # ------------------------------------------------------------- requests

    def check(
        self, username: str, limit: int | None, service: str, msisdn: str | None
    ) -> asyncio.Future[Any]:
        """Send the question of a lookup; read the reply with `checked`.

        `limit`: the account's limit of ongoing requests, or None for an account
        whose lookups never hold a lease (a plain GET then, no script). `msisdn`
        None (nocache): the cached outcome is not read. Raises SharedStoreError
        when Redis is down. A future, not a coroutine: a cache hit costs one
        callback, not a task.
        """
        if limit is None:
            if msisdn is None:
                raise ValueError("nothing to ask")
            return self.connection.call("GET", self.cache_key(service, msisdn))
        cache_key = "" if msisdn is None else self.cache_key(service, msisdn)
        keys = (self.ongoing_key(username), cache_key)
        sha = self._sha.get(CHECK)
        if sha is None:
            return self.connection.call("EVAL", CHECK, 2, *keys, limit)
        return self.connection.call("EVALSHA", sha, 2, *keys, limit)

    def checked(self, reply: asyncio.Future[Any]) -> tuple[int, Outcome | None]:
        """(ongoing requests, cached outcome or None) from a done `check` future."""
        try:
            answer = reply.result()
        except SharedStoreError as exc:
            if "NOSCRIPT" in str(exc):  # the script cache was flushed: send it whole
                self._sha.pop(CHECK, None)
            raise
        if isinstance(answer, list):
            ongoing, value = int(answer[0]), answer[1]
        else:
            ongoing, value = 0, answer
        if value is None:
            return ongoing, None
        decoded = self._decoded
        if value in decoded:
            return ongoing, decoded[value]
        if len(decoded) >= _DECODED_MAX:
            decoded.clear()
        outcome = decoded[value] = decode(value)
        return ongoing, outcome

    async def acquire(self, username: str, limit: int) -> str | None:
        """Take a lease on one of the account's places; None when all are taken."""
        lease = next(self._lease_ids)
        key = self.ongoing_key(username)
        taken = await self._eval(ACQUIRE, (key,), limit, self._lease_ms, lease)
        return lease if taken == 1 else None

    def release(self, username: str, lease: str) -> None:
        self.connection.fire("ZREM", self.ongoing_key(username), lease)

    def put(self, service: str, msisdn: str, outcome: Outcome) -> None:
        """Keep the outcome for its TTL; a transient one ends what was kept (as nocache asks)."""
        if not self.connection.up:
            return
        key = self.cache_key(service, msisdn)
        seconds = self._ttl.seconds(service, outcome.result)
        if seconds is None:
            self.connection.fire("DEL", key)
        else:
            self.connection.fire("SET", key, encode(outcome), "PX", max(1, int(seconds * 1000)))
