"""Who is asking: HTTP Basic credentials checked against the accounts.

Passwords are stored as argon2id hashes, which take tens of milliseconds to
check on purpose. So the hash is checked off the event loop, at most a few at a
time, once per distinct Authorization value: a value that passed is remembered
(for as long as the account's hash and state stay the same), and one that failed
is refused again for a while without hashing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor

from numlookup.service.passwords import verify_password
from numlookup.store.base import Account
from numlookup.wire.basic_auth import parse_basic, parse_userinfo

log = logging.getLogger(__name__)

Verifier = Callable[[str, str], bool]


class Authenticator:
    def __init__(
        self,
        accounts: Iterable[Account],
        *,
        cache_size: int = 10000,
        failure_seconds: float = 30.0,
        max_concurrent: int = 4,
        executor: Executor | None = None,
        verify: Verifier = verify_password,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts: dict[str, Account] = {a.username: a for a in accounts}
        self._verified: OrderedDict[bytes, Account] = OrderedDict()
        self._refused: dict[bytes, float] = {}
        self._pending: dict[bytes, asyncio.Future[Account | None]] = {}
        self._cache_size = cache_size
        self._failure_seconds = failure_seconds
        self._max_concurrent = max_concurrent
        self._semaphore: asyncio.Semaphore | None = None
        self._executor = executor
        self._verify = verify
        self._clock = clock

    @property
    def accounts(self) -> dict[str, Account]:
        return self._accounts

    def replace_accounts(self, accounts: Iterable[Account]) -> None:
        """New account data: keep remembered credentials whose account is unchanged."""
        self._accounts = {a.username: a for a in accounts}
        kept: OrderedDict[bytes, Account] = OrderedDict()
        for value, old in self._verified.items():
            new = self._accounts.get(old.username)
            if new is not None and new.enabled and new.password_hash == old.password_hash:
                kept[value] = new
        self._verified = kept
        self._refused.clear()

    def authenticate(
        self, authorization: bytes | None, userinfo: bytes | None = None
    ) -> Account | Awaitable[Account | None] | None:
        """The account, None when refused, or an awaitable when a hash must be checked.

        `authorization` is the Authorization header's value; `userinfo` the
        user-info of an absolute request-target, used when there is no header.
        """
        if authorization is not None:
            key = authorization
        elif userinfo is not None:
            key = b"\0" + userinfo
        else:
            return None
        account = self._verified.get(key)
        if account is not None:
            return account
        return self._slow_path(key, authorization, userinfo)

    def _slow_path(
        self, key: bytes, authorization: bytes | None, userinfo: bytes | None
    ) -> Account | Awaitable[Account | None] | None:
        until = self._refused.get(key)
        if until is not None:
            if until > self._clock():
                return None
            del self._refused[key]
        if authorization is not None:
            credentials = parse_basic(authorization)
        else:
            assert userinfo is not None
            credentials = parse_userinfo(userinfo)
        if credentials is None:
            self._refuse(key)
            return None
        username, password = credentials
        account = self._accounts.get(username)
        if account is None or not account.enabled:
            self._refuse(key)
            return None
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        future: asyncio.Future[Account | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        task = asyncio.ensure_future(self._check(key, account, password, future))
        task.add_done_callback(_consume)
        return future

    async def _check(
        self, key: bytes, account: Account, password: str, future: asyncio.Future[Account | None]
    ) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._max_concurrent)
        try:
            async with self._semaphore:
                loop = asyncio.get_running_loop()
                ok = await loop.run_in_executor(
                    self._executor, self._verify, account.password_hash, password
                )
            current = self._accounts.get(account.username)
            if (
                ok
                and current is not None
                and current.enabled
                and (current.password_hash == account.password_hash)
            ):
                self._remember(key, current)
                future.set_result(current)
            else:
                self._refuse(key)
                future.set_result(None)
        except Exception as exc:  # a broken verifier must not leave requests hanging
            log.error("credential check failed: %s", exc)
            if not future.done():
                future.set_result(None)
        finally:
            self._pending.pop(key, None)

    def _remember(self, key: bytes, account: Account) -> None:
        self._verified[key] = account
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)

    def _refuse(self, key: bytes) -> None:
        if self._failure_seconds > 0:
            if len(self._refused) >= self._cache_size:
                self._refused.clear()
            self._refused[key] = self._clock() + self._failure_seconds


def _consume(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()
