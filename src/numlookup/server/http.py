"""HTTP/1.1 for the lookup interface: an asyncio Protocol around httptools' parser.

One `HttpConnection` per TCP (or TLS) connection, sharing one `Frontend`.
Rules kept here (RFC 9112 unless said):
- Requests are answered in the order they arrived, also when pipelined (§9.3.2):
  an answer that is ready waits behind one that is not.
- Limits: a request-target longer than `max_url_bytes` gets 414, a header section
  larger than `max_header_bytes` or with more than `max_headers` fields 431, a
  body larger than MAX_BODY 413 (RFC 9110 §15.5); each then closes the connection.
- A request must arrive whole within `request_timeout` of its first byte (or of
  the connection opening): else 408 and close. An idle keep-alive connection is
  closed after `keepalive_timeout`. A client that stops reading its answers has
  reading paused; if it still reads nothing for `request_timeout` it is dropped.
- More than `max_pipelined` unanswered requests pause reading until answers drain.
- HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with
  `Connection: keep-alive`. The Host header is not checked: clients send others'.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httptools

from numlookup.config import ServerConfig
from numlookup.errors import HttpError
from numlookup.results import Outcome
from numlookup.server import responses
from numlookup.service.auth import Authenticator
from numlookup.service.pipeline import LookupService
from numlookup.store.base import Account

log = logging.getLogger(__name__)

LOOKUP_PATH = b"/lookup"
MAX_BODY = 16384


class Frontend:
    """What every connection shares: the handlers, the limits, the clock, the date."""

    def __init__(
        self,
        authenticator: Authenticator,
        service: LookupService,
        settings: ServerConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.authenticator = authenticator
        self.service = service
        self.settings = settings
        self.clock = clock
        self.connections: set[HttpConnection] = set()
        self.date = responses.date_header()
        # Whole keep-alive 200 responses by outcome, for the current Date: most
        # answers repeat a few outcomes, and this skips building them anew.
        self.ok_responses: dict[Outcome, bytes] = {}
        self.tasks: set[asyncio.Future[Any]] = set()

    def factory(self) -> HttpConnection:
        return HttpConnection(self)

    def tick(self) -> None:
        """Once a second: refresh the Date header and enforce the time limits."""
        self.date = responses.date_header()
        self.ok_responses = {}
        now = self.clock()
        for connection in list(self.connections):
            connection.check_timeouts(now)

    def close_idle(self) -> int:
        """Close connections with nothing in progress; the count left busy."""
        busy = 0
        for connection in list(self.connections):
            if connection.is_idle():
                connection.close()
            else:
                busy += 1
        return busy


class _Slot:
    __slots__ = ("data", "keep_alive")

    def __init__(self, keep_alive: bool) -> None:
        self.data: bytes | None = None
        self.keep_alive = keep_alive


class HttpConnection(asyncio.Protocol):
    def __init__(self, frontend: Frontend) -> None:
        self.frontend = frontend
        self.settings = frontend.settings
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[_Slot] = deque()
        self.url = b""
        self.authorization: bytes | None = None
        self.header_bytes = 0
        self.header_count = 0
        self.body_bytes = 0
        self.request_started = 0.0  # 0: no request being received
        self.last_activity = 0.0
        self.reading = True  # False once a request said close, or after an error
        self.reading_paused = False
        self.writing_paused = False
        self.closed = False
        self.tls = False

    # ------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self.tls = transport.get_extra_info("sslcontext") is not None
        frontend = self.frontend
        now = frontend.clock()
        self.last_activity = now
        if len(frontend.connections) >= self.settings.max_connections:
            transport.write(responses.error(503, frontend.date, b"Connection: close\r\n"))
            transport.close()
            self.closed = True
            self.reading = False
            return
        # The first request's clock starts with the connection.
        self.request_started = now
        frontend.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reading = False
        self.frontend.connections.discard(self)

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.last_activity = self.frontend.clock()
        self._maybe_resume()

    def data_received(self, data: bytes) -> None:
        if not self.reading:
            return
        self.last_activity = self.frontend.clock()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, HttpError):
                self._fail(cause.status)
            else:
                log.error("request handling failed: %r", cause)
                self._fail(500)
        except httptools.HttpParserUpgrade:
            # The request was answered; numlookup upgrades to nothing, so what
            # follows is not HTTP/1.1 any more: end the connection after the answers.
            self.reading = False
            if not self.queue:
                self.close()
        except httptools.HttpParserError:
            self._fail(400)

    def eof_received(self) -> bool | None:
        # A half-closed client still gets the answers to what it sent (TLS has no
        # half-close: there the transport closes itself).
        self.reading = False
        if not self.queue:
            self.close()
        return None if self.tls else True

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.authorization = None
        self.header_bytes = 0
        self.header_count = 0
        self.body_bytes = 0
        if not self.request_started:
            self.request_started = self.frontend.clock()

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.settings.max_url_bytes:
            raise HttpError(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.header_bytes += len(name) + len(value) + 4
        if (
            self.header_bytes > self.settings.max_header_bytes
            or self.header_count > self.settings.max_headers
        ):
            raise HttpError(431, "Request Header Fields Too Large")
        if len(name) == 13 and name.lower() == b"authorization":
            self.authorization = value

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > MAX_BODY:
            raise HttpError(413, "Content Too Large")

    def on_message_complete(self) -> None:
        if not self.reading:
            return
        self.request_started = 0.0
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        http10 = parser.get_http_version() == "1.0"
        if not keep_alive:
            self.reading = False
        connection = responses.connection_header(keep_alive, http10)
        answer = self._handle(parser.get_method(), connection)
        if isinstance(answer, bytes):
            if self.queue:
                slot = _Slot(keep_alive)
                slot.data = answer
                self.queue.append(slot)
            else:
                assert self.transport is not None
                self.transport.write(answer)
                if not keep_alive:
                    self.close()
            return
        slot = _Slot(keep_alive)
        self.queue.append(slot)
        future = asyncio.ensure_future(answer)
        self.frontend.tasks.add(future)
        future.add_done_callback(lambda f: self._answered(slot, f))
        if len(self.queue) >= self.settings.max_pipelined:
            self._pause()

    # ------------------------------------------------------------ the request

    def _handle(self, method: bytes, connection: bytes) -> bytes | Awaitable[bytes]:
        date = self.frontend.date
        url = self.url
        userinfo: bytes | None = None
        if url[:1] == b"/":
            path, _, query = url.partition(b"?")
        else:
            # Absolute form (RFC 9112 §3.2.2), which may carry user-info credentials.
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                return responses.error(400, date, connection)
            path = parsed.path or b""
            query = parsed.query or b""
            userinfo = parsed.userinfo
        if path != LOOKUP_PATH:
            return responses.error(404, date, connection)
        if method != b"GET":
            return responses.method_not_allowed(date, connection)
        frontend = self.frontend
        account = frontend.authenticator.authenticate(self.authorization, userinfo)
        if account is None:
            return responses.unauthorized(date, connection)
        if not isinstance(account, Account):
            return self._after_auth(account, query, connection)
        outcome = frontend.service.lookup(account, query)
        if isinstance(outcome, Outcome):
            return self._ok(outcome, connection)
        if isinstance(outcome, asyncio.Future):
            return self._when_answered(outcome, connection)
        return self._after_lookup(outcome, connection)

    def _ok(self, outcome: Outcome, connection: bytes) -> bytes:
        frontend = self.frontend
        if connection:
            return responses.ok(outcome.body(), frontend.date, connection)
        data = frontend.ok_responses.get(outcome)
        if data is None:
            data = frontend.ok_responses[outcome] = responses.ok(outcome.body(), frontend.date)
        return data

    def _when_answered(
        self, pending: asyncio.Future[Outcome], connection: bytes
    ) -> asyncio.Future[bytes]:
        """The response to an answer that is a future (a callback: no task per request)."""
        response: asyncio.Future[bytes] = pending.get_loop().create_future()

        def answered(done: asyncio.Future[Outcome]) -> None:
            if response.done():
                return
            if done.cancelled():
                response.cancel()
            elif (exc := done.exception()) is not None:
                response.set_exception(exc)
            else:
                response.set_result(self._ok(done.result(), connection))

        pending.add_done_callback(answered)
        return response

    async def _after_auth(
        self, pending: Awaitable[Account | None], query: bytes, connection: bytes
    ) -> bytes:
        account = await pending
        if account is None:
            return responses.unauthorized(self.frontend.date, connection)
        outcome = self.frontend.service.lookup(account, query)
        if not isinstance(outcome, Outcome):
            outcome = await outcome
        return responses.ok(outcome.body(), self.frontend.date, connection)

    async def _after_lookup(self, pending: Awaitable[Outcome], connection: bytes) -> bytes:
        outcome = await pending
        return responses.ok(outcome.body(), self.frontend.date, connection)

    def _answered(self, slot: _Slot, future: asyncio.Future[bytes]) -> None:
        self.frontend.tasks.discard(future)
        if future.cancelled():
            slot.data = responses.error(503, self.frontend.date, b"Connection: close\r\n")
            slot.keep_alive = False
        elif future.exception() is not None:
            log.error("request failed: %r", future.exception())
            slot.data = responses.error(500, self.frontend.date, b"Connection: close\r\n")
            slot.keep_alive = False
        else:
            slot.data = future.result()
        self._flush()

    def _flush(self) -> None:
        queue = self.queue
        transport = self.transport
        while queue and queue[0].data is not None:
            slot = queue.popleft()
            if self.closed or transport is None:
                continue
            assert slot.data is not None
            transport.write(slot.data)
            if not slot.keep_alive:
                queue.clear()
                self.close()
                return
        if not queue and not self.reading and not self.closed:
            self.close()
            return
        self._maybe_resume()

    # ------------------------------------------------------------ flow and limits

    def _pause(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def _maybe_resume(self) -> None:
        if (
            self.reading_paused
            and not self.writing_paused
            and len(self.queue) < self.settings.max_pipelined
            and self.transport is not None
            and not self.closed
        ):
            self.reading_paused = False
            self.transport.resume_reading()

    def _fail(self, status: int) -> None:
        """Answer an unusable request with `status` (after earlier answers) and close."""
        self.reading = False
        self.request_started = 0.0
        slot = _Slot(False)
        slot.data = responses.error(status, self.frontend.date, b"Connection: close\r\n")
        self.queue.append(slot)
        self._flush()

    def check_timeouts(self, now: float) -> None:
        settings = self.settings
        if self.request_started and now - self.request_started > settings.request_timeout:
            if self.reading:
                self._fail(408)
            else:
                self.close()
        elif self.writing_paused and now - self.last_activity > settings.request_timeout:
            self.abort()
        elif self.is_idle() and now - self.last_activity > settings.keepalive_timeout:
            self.close()

    def is_idle(self) -> bool:
        return not self.queue and not self.request_started

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()
        self.frontend.connections.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.closed = True
        self.frontend.connections.discard(self)
