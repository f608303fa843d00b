"""numlookup.Client and numlookup.AsyncClient: lookups with failover over httpx.

One lookup is a walk over the servers (see _failover for the order):

    for each server, while the deadline allows:
        GET /lookup?msisdn=...   -> 200 with a body: the answer, parsed, returned
                                 -> 401: AuthenticationError      (not retried)
                                 -> other 4xx: ClientError        (not retried)
                                 -> 5xx, connection error, timeout: next server
    no answer from any           -> ServersUnavailable, with each server's failure

An answer is never retried, whatever its result code: a `result=TIMEOUT` body
is the server's verdict, and a second lookup could be billed twice.

`timeout` bounds each network operation of one attempt (connect, write, read);
`deadline` bounds the whole walk: each attempt gets at most what is left of it,
and no server is tried once it has passed. The async client also cancels an
attempt that is still running when the deadline passes; the sync client relies
on httpx's per-operation timeouts, so a server that trickles bytes can overrun
the deadline by up to one `timeout`.

The transport is the seam: pass `transport=httpx.MockTransport(handler)` to
run without a network.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx

from numlookup.client._exceptions import (
    AuthenticationError,
    ClientError,
    ResponseError,
    ServerFailure,
    ServersUnavailable,
)
from numlookup.client._failover import RECHECK, Failover
from numlookup.client._result import LookupResult, parse_body
from numlookup.errors import ConfigError

TIMEOUT = 15.0  # seconds per network operation; above the server's own real-time deadline
DEADLINE = 30.0  # seconds for all attempts of one lookup together

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A client's settings, checked once: base URLs without a trailing '/'."""

    servers: tuple[str, ...]
    username: str
    password: str
    timeout: float = TIMEOUT
    deadline: float = DEADLINE
    recheck: float = RECHECK

    @classmethod
    def build(
        cls,
        servers: Sequence[str],
        username: str,
        password: str,
        timeout: float,
        deadline: float,
        recheck: float,
    ) -> ClientSettings:
        if isinstance(servers, str):
            servers = [servers]
        bases = tuple(_base_url(server) for server in servers)
        if not bases:
            raise ConfigError("servers", "at least one server URL is needed")
        for key, value in (("timeout", timeout), ("deadline", deadline), ("recheck", recheck)):
            if not value > 0:
                raise ConfigError(key, f"must be more than 0 seconds, not {value!r}")
        return cls(bases, username, password, timeout, deadline, recheck)


def _base_url(server: str) -> str:
    url = httpx.URL(server)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError("servers", f"{server!r} is not an http:// or https:// URL")
    return server.rstrip("/")


def lookup_path(msisdn: str, nocache: bool = False) -> str:
    """The request-target of one lookup; the MSISDN percent-encoded (`+` as %2B)."""
    return "/lookup?msisdn=" + quote(msisdn, safe="") + ("&nocache" if nocache else "")


def judge(server: str, response: httpx.Response) -> LookupResult | ServerFailure:
    """An answer (parsed), a failure to move on from, or an error to raise."""
    status = response.status_code
    if 200 <= status < 300:
        return parse_body(response.content.decode("iso-8859-1"), server)
    if 500 <= status < 600:
        return ServerFailure(server, f"HTTP {status} {response.reason_phrase}".rstrip())
    if status == 401:
        raise AuthenticationError(status, response.reason_phrase, server)
    detail = response.text[:200].strip()
    if 400 <= status < 500:
        raise ClientError(status, response.reason_phrase, server, detail)
    raise ResponseError(f"unexpected HTTP status {status}", detail, server)


def _transport_failure(server: str, exc: httpx.TransportError) -> ServerFailure:
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
    text = str(exc) or type(exc).__name__
    return ServerFailure(server, f"{kind}: {text}")


def _deadline_failure(server: str) -> ServerFailure:
    return ServerFailure(server, "not tried: deadline passed")


class _Base:
    def __init__(
        self,
        servers: Sequence[str],
        username: str,
        password: str,
        timeout: float,
        deadline: float,
        recheck: float,
        clock: Clock,
    ) -> None:
        self.settings = ClientSettings.build(
            servers, username, password, timeout, deadline, recheck
        )
        self._clock = clock
        self._failover = Failover(self.settings.servers, self.settings.recheck, clock)
        self._auth = httpx.BasicAuth(username, password)

    @property
    def current_server(self) -> str:
        """The server the next lookup starts with (the one that answered last)."""
        return self._failover.current


class Client(_Base):
    """A synchronous lookup client with failover (see the module docstring).

    with numlookup.Client(["http://primary:3700", "http://backup:3700"],
                          username="demo", password="demo") as client:
        answer = client.lookup("46708100200")
    """

    def __init__(
        self,
        servers: Sequence[str],
        *,
        username: str,
        password: str,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        recheck: float = RECHECK,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(servers, username, password, timeout, deadline, recheck, clock)
        self._http = httpx.Client(
            auth=self._auth,
            verify=verify,
            limits=limits or httpx.Limits(),
            transport=transport,
            follow_redirects=False,
        )

    def lookup(self, msisdn: str, nocache: bool = False) -> LookupResult:
        path = lookup_path(msisdn, nocache)
        stop = self._clock() + self.settings.deadline
        failures: list[ServerFailure] = []
        for index in self._failover.order():
            server = self.settings.servers[index]
            left = stop - self._clock()
            if left <= 0:
                failures.append(_deadline_failure(server))
                continue
            try:
                response = self._http.get(server + path, timeout=min(self.settings.timeout, left))
            except httpx.TransportError as exc:
                failures.append(_transport_failure(server, exc))
                continue
            verdict = judge(server, response)
            if isinstance(verdict, ServerFailure):
                failures.append(verdict)
                continue
            self._failover.answered(index)
            return verdict
        raise ServersUnavailable(tuple(failures))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """The asyncio twin of Client: `answer = await client.lookup("46708100200")`.

    Lookups may run concurrently on one client; they share its connection pool
    (`limits`) and its failover state.
    """

    def __init__(
        self,
        servers: Sequence[str],
        *,
        username: str,
        password: str,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        recheck: float = RECHECK,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(servers, username, password, timeout, deadline, recheck, clock)
        self._http = httpx.AsyncClient(
            auth=self._auth,
            verify=verify,
            limits=limits or httpx.Limits(),
            transport=transport,
            follow_redirects=False,
        )

    async def lookup(self, msisdn: str, nocache: bool = False) -> LookupResult:
        path = lookup_path(msisdn, nocache)
        stop = self._clock() + self.settings.deadline
        failures: list[ServerFailure] = []
        for index in self._failover.order():
            server = self.settings.servers[index]
            left = stop - self._clock()
            if left <= 0:
                failures.append(_deadline_failure(server))
                continue
            try:
                async with asyncio.timeout(left):
                    response = await self._http.get(
                        server + path, timeout=min(self.settings.timeout, left)
                    )
            except httpx.TransportError as exc:
                failures.append(_transport_failure(server, exc))
                continue
            except TimeoutError:
                failures.append(ServerFailure(server, "timeout: deadline passed"))
                continue
            verdict = judge(server, response)
            if isinstance(verdict, ServerFailure):
                failures.append(verdict)
                continue
            self._failover.answered(index)
            return verdict
        raise ServersUnavailable(tuple(failures))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
