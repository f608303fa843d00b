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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from numlookup.config import Config, Listen
from numlookup.errors import ConfigError
from numlookup.realtime.resolver import RealtimeResolver
from numlookup.server.http import Frontend
from numlookup.server.metrics import MetricsListener, Sources
from numlookup.server.tls import ensure_self_signed, server_context
from numlookup.service.auth import Authenticator
from numlookup.service.cache import MemoryCache, TtlTable
from numlookup.service.pipeline import Blocks, LookupService, Resolver
from numlookup.service.portability import PortabilityResolver
from numlookup.service.portability_pg import PostgresPortabilityResolver
from numlookup.service.records import Recorder
from numlookup.shared.resp import RedisAddress, RedisConnection
from numlookup.shared.state import SharedState
from numlookup.store import Store, open_store
from numlookup.store.base import Account, BlockRule, Versions
from numlookup.store.postgres import SERVING_CONNECT_TIMEOUT, PostgresStore

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 10.0
GC_THRESHOLDS = (100_000, 50, 1000)


@dataclass
class _Changes:
    versions: Versions
    accounts: list[Account] | None = None
    blocks: list[BlockRule] | None = None
    portability: bool = False


class Server:
    def __init__(self, config: Config) -> None:
        self.config = config
        path = config.database_path
        self.store: Store = open_store(path, seed_demo=config.seed_demo, url=config.database.url)
        if self.store.is_new():
            where = "PostgreSQL" if config.database.url else str(path)
            log.info("new database in %s (demo data: %s)", where, config.seed_demo)
        self.versions = self.store.versions()
        # PostgreSQL is asked off the event loop, always from this one thread.
        self._store_executor = (
            ThreadPoolExecutor(1, thread_name_prefix="numlookup-store")
            if config.database.url
            else None
        )
        self.portability: PortabilityResolver | PostgresPortabilityResolver
        if config.database.url is not None:
            url = config.database.url
            # Ported numbers are asked on threads of its own, never on the event loop.
            self.portability = PostgresPortabilityResolver(
                lambda: PostgresStore(url, migrate=False, connect_timeout=SERVING_CONNECT_TIMEOUT)
            )
        else:
            self.portability = PortabilityResolver(self.store)
        self.recorder = Recorder(
            self._records_store,
            flush_interval=config.records.flush_interval,
            batch_size=config.records.batch_size,
            max_held=config.records.max_held,
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
        self.metrics = MetricsListener(self._metric_sources())
        self.listeners: list[asyncio.base_events.Server] = []
        self.bound: dict[str, str] = {}
        self._stop = asyncio.Event()

    def _records_store(self) -> Store:
        """The record writer's store; on PostgreSQL opened again after each lost connection,
        without the migration check (the server's start did it)."""
        url = self.config.database.url
        if url is not None:
            return PostgresStore(url, migrate=False)
        return open_store(self.config.database_path)

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

    def _metric_sources(self) -> Sources:
        shared = self.shared
        return Sources(
            lookups=lambda: dict(self.service.answered),
            local_fallbacks=lambda: self.service.local_fallbacks,
            redis_up=lambda: None if shared is None else shared.up,
            database_up=lambda: (
                self.recorder.database_up and getattr(self.portability, "database_up", True)
            ),
            records_written=lambda: self.recorder.written,
            records_held=lambda: self.recorder.held,
            records_rejected=lambda: self.recorder.rejected,
            cache_entries=lambda: len(self.cache),
            connections=lambda: len(self.frontend.connections),
            ongoing=lambda: sum(self.service.ongoing.values()),
        )

    def _redis_state(self, up: bool) -> None:
        assert self.shared is not None
        where = self.shared.connection.address
        if up:
            log.info("redis %s: connected; cache and ongoing counts are shared", where)
        else:
            log.warning(
                "redis %s: unreachable; answering from this server's own cache and counts", where
            )

    def _read_changes(self) -> _Changes:
        """What the CLI changed since the last look (on PostgreSQL: on a thread)."""
        versions = self.store.versions()
        changes = _Changes(versions)
        if versions.accounts != self.versions.accounts:
            changes.accounts = self.store.list_accounts()
            changes.blocks = self.store.list_blocks()
        if versions.portability != self.versions.portability:
            self.portability.reload()
            changes.portability = True
        return changes

    def _apply(self, changes: _Changes) -> None:
        if changes.accounts is not None and changes.blocks is not None:
            self.authenticator.replace_accounts(changes.accounts)
            self.service.blocks = Blocks(changes.blocks)
            log.info("accounts and block rules reloaded")
        if changes.portability:
            self.cache.clear("portability")
            if self.shared is not None:
                self.shared.set_generation("portability", changes.versions.portability)
            log.info("portability data changed: ranges reloaded, cache cleared")
        self.versions = changes.versions

    async def reload(self) -> None:
        """Pick up accounts, rules and portability data changed by the CLI.

        A PostgreSQL server may be slow or gone: it is asked on a thread, so the
        event loop never waits for it, and until it answers the server goes on
        with the accounts and data it knew last. A local SQLite file is asked
        in place.
        """
        if self._store_executor is None:
            changes = self._read_changes()
        else:
            loop = asyncio.get_running_loop()
            changes = await loop.run_in_executor(self._store_executor, self._read_changes)
        self._apply(changes)

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
                await self.reload()
            except Exception as exc:
                log.error("reload failed (going on with what was loaded before): %s", exc)

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
        if settings.metrics is not None:
            self.bound["metrics"] = self.metrics.start(settings.metrics)
        self.recorder.start()
        if isinstance(self.portability, PostgresPortabilityResolver):
            self.portability.start()
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
        if isinstance(self.portability, PostgresPortabilityResolver):
            await self.portability.close()
        self.metrics.close()
        await self.recorder.close()
        if self._store_executor is not None:
            self._store_executor.shutdown(wait=True)
        self.store.close()
        log.info("stopped; %d lookup records written", self.recorder.written)


def announce(bound: dict[str, str]) -> None:
    """The line tests and scripts wait for: where the listeners really are."""
    parts = " ".join(f"{name}={where}" for name, where in bound.items())
    print(f"numlookup listening {parts}", flush=True)
    sys.stdout.flush()
