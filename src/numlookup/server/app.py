"""The server process: wire the store, the service and the listeners; run; stop cleanly.

On SIGTERM or SIGINT the listeners close, requests in progress get their
answers (up to a grace period), and every lookup record is written before exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable

from numlookup.config import Config, Listen
from numlookup.errors import ConfigError
from numlookup.realtime.resolver import RealtimeResolver
from numlookup.server.http import Frontend
from numlookup.server.tls import ensure_self_signed, server_context
from numlookup.service.auth import Authenticator
from numlookup.service.cache import MemoryCache, TtlTable
from numlookup.service.pipeline import Blocks, LookupService, Resolver
from numlookup.service.portability import PortabilityResolver
from numlookup.service.records import Recorder
from numlookup.shared.resp import RedisAddress, RedisConnection
from numlookup.shared.state import SharedState
from numlookup.store import Store, open_store

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 10.0
GC_THRESHOLDS = (100_000, 50, 1000)


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        path = config.database_path
        self.store: Store = open_store(path, seed_demo=config.seed_demo, url=config.database.url)
        if self.store.is_new():
            where = "PostgreSQL" if config.database.url else str(path)
            log.info("new database in %s (demo data: %s)", where, config.seed_demo)
        self.versions = self.store.versions()
        self.portability = PortabilityResolver(self.store)
        self.recorder = Recorder(
            lambda: open_store(path, url=config.database.url),
            flush_interval=config.records.flush_interval,
            batch_size=config.records.batch_size,
            spill_path=config.var_dir / "unwritten-records.jsonl",
        )
        service_ttl = {"realtime": config.cache.realtime_ttl}
        self.cache = MemoryCache(
            config.cache.max_entries, config.cache.ttl, service_ttl=service_ttl
        )
        self.shared = self._shared_state(TtlTable(config.cache.ttl, service_ttl))
        resolvers: dict[str, Resolver] = {"portability": self.portability}
        self.realtime: RealtimeResolver | None = None
        if config.realtime.peers:
            self.realtime = resolvers["realtime"] = RealtimeResolver(config.realtime)
        self.service = LookupService(
            resolvers,
            self.cache,
            self.recorder,
            Blocks(self.store.list_blocks()),
            shared=self.shared,
            show_msisdn=config.log.show_msisdn,
            log_lookups=config.log.lookups,
        )
        self.authenticator = Authenticator(
            self.store.list_accounts(),
            cache_size=config.auth.credential_cache_size,
            failure_seconds=config.auth.failure_cache_seconds,
            max_concurrent=config.auth.max_concurrent_verifications,
        )
        self.frontend = Frontend(self.authenticator, self.service, config.server)
        self.listeners: list[asyncio.base_events.Server] = []
        self.bound: dict[str, str] = {}
        self._stop = asyncio.Event()

    def _shared_state(self, ttl: TtlTable) -> SharedState | None:
        settings = self.config.cache
        if settings.url is None:
            return None
        try:
            address = RedisAddress.from_url(settings.url)
        except ValueError as exc:
            raise ConfigError("cache.url", str(exc)) from None
        state = SharedState(
            RedisConnection(address, timeout=settings.redis_timeout),
            ttl,
            prefix=settings.key_prefix,
            lease_seconds=settings.lease_seconds,
        )
        state.connection.on_connect = state.load_scripts
        state.connection.on_state = self._redis_state
        state.set_generation("portability", self.versions.portability)
        return state

    def _redis_state(self, up: bool) -> None:
        assert self.shared is not None
        where = self.shared.connection.address
        if up:
            log.info("redis %s: connected; cache and ongoing counts are shared", where)
        else:
            log.warning(
                "redis %s: unreachable; answering from this server's own cache and counts", where
            )

    def reload(self) -> None:
        """Pick up accounts, rules and portability data changed by the CLI."""
        versions = self.store.versions()
        if versions.accounts != self.versions.accounts:
            self.authenticator.replace_accounts(self.store.list_accounts())
            self.service.blocks = Blocks(self.store.list_blocks())
            log.info("accounts and block rules reloaded")
        if versions.portability != self.versions.portability:
            self.portability.reload()
            self.cache.clear("portability")
            if self.shared is not None:
                self.shared.set_generation("portability", versions.portability)
            log.info("portability data changed: ranges reloaded, cache cleared")
        self.versions = versions

    async def _listen(self, name: str, where: Listen, tls: bool) -> None:
        loop = asyncio.get_running_loop()
        context = None
        if tls:
            settings = self.config.server
            if settings.tls_cert is not None and settings.tls_key is not None:
                cert, key = settings.tls_cert, settings.tls_key
            else:
                cert, key = ensure_self_signed(self.config.var_dir / "tls")
            context = server_context(cert, key)
        listener = await loop.create_server(
            self.frontend.factory,
            where.host,
            where.port,
            ssl=context,
            # A TLS handshake must finish within the time a request has to arrive.
            ssl_handshake_timeout=self.config.server.request_timeout if tls else None,
            backlog=1024,
        )
        self.listeners.append(listener)
        host, port = listener.sockets[0].getsockname()[:2]
        self.bound[name] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def _every_second(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.frontend.tick()

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.reload_interval)
            try:
                self.reload()
            except Exception as exc:
                log.error("reload failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()

    async def run(self, ready: Callable[[dict[str, str]], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        settings = self.config.server
        if settings.http is not None:
            await self._listen("http", settings.http, tls=False)
        if settings.https is not None:
            await self._listen("https", settings.https, tls=True)
        self.recorder.start()
        if self.shared is not None:
            # Usually connected before the listeners announce; if not, lookups go
            # the local way until it is.
            await self.shared.connection.start(wait=2 * self.config.cache.redis_timeout)
        if self.realtime is not None:
            self.realtime.start()
        background = [
            loop.create_task(self._every_second(), name="tick"),
            loop.create_task(self._reload_loop(), name="reload"),
        ]
        # What start-up built (numbering tables, accounts, ranges) lives as long as
        # the process: keep it out of every later garbage collection. With
        # thousands of dialogues in flight, Python's default thresholds ran a full
        # collection every ~0.6 s (70-95 ms each, a quarter of the CPU); almost
        # everything here is freed by reference counting, so collect far less.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        if ready is not None:
            ready(self.bound)
        await self._stop.wait()
        log.info("stopping")
        for listener in self.listeners:
            listener.close()
        deadline = loop.time() + SHUTDOWN_GRACE
        while self.frontend.close_idle() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.frontend.connections):
            connection.abort()
        if self.realtime is not None:
            await self.realtime.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self.shared is not None:
            await self.shared.connection.close()
        await self.recorder.close()
        self.store.close()
        log.info("stopped; %d lookup records written", self.recorder.written)


def announce(bound: dict[str, str]) -> None:
    """The line tests and scripts wait for: where the listeners really are."""
    parts = " ".join(f"{name}={where}" for name, where in bound.items())
    print(f"numlookup listening {parts}", flush=True)
    sys.stdout.flush()
