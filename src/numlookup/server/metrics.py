"""Prometheus metrics of one server, on a listener of their own (`server.metrics`).

prometheus_client serves them from its own thread; the collector reads the
server's state when scraped, so the request path only bumps plain counters.
Nothing here names an MSISDN or an account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from numlookup.config import Listen

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sources:
    """Where the collector reads each figure (callables: read at scrape time)."""

    lookups: Callable[[], dict[tuple[str, str], int]]  # (result, source) -> answered
    local_fallbacks: Callable[[], int]
    redis_up: Callable[[], bool | None]  # None: no Redis configured
    database_up: Callable[[], bool]
    records_written: Callable[[], int]
    records_held: Callable[[], int]
    records_rejected: Callable[[], int]
    cache_entries: Callable[[], int]
    connections: Callable[[], int]
    ongoing: Callable[[], int]


class ServerCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self._s = sources

    def collect(self) -> Iterator[Metric]:
        s = self._s
        lookups = CounterMetricFamily(
            "numlookup_lookups",
            "Lookups answered, by result and source",
            labels=["result", "source"],
        )
        for (result, source), count in sorted(s.lookups().items()):
            lookups.add_metric([result, source], count)
        yield lookups
        yield CounterMetricFamily(
            "numlookup_local_fallback_lookups",
            "Lookups answered with this server's own cache and counts: Redis was unreachable",
            value=s.local_fallbacks(),
        )
        redis_up = s.redis_up()
        if redis_up is not None:
            yield GaugeMetricFamily(
                "numlookup_redis_up", "1 when the shared cache (Redis) is reachable", int(redis_up)
            )
        yield GaugeMetricFamily(
            "numlookup_database_up",
            "1 when the database took the last lookup records written",
            int(s.database_up()),
        )
        yield CounterMetricFamily(
            "numlookup_records_written", "Lookup records written", value=s.records_written()
        )
        yield GaugeMetricFamily(
            "numlookup_records_held",
            "Lookup records waiting for the database (in memory or spilled to disk)",
            s.records_held(),
        )
        yield CounterMetricFamily(
            "numlookup_records_rejected",
            "Lookup records the database refused for what they hold, set aside"
            " (rejected-records.jsonl)",
            value=s.records_rejected(),
        )
        yield GaugeMetricFamily(
            "numlookup_cache_entries", "Entries in this server's own cache", s.cache_entries()
        )
        yield GaugeMetricFamily("numlookup_connections", "Open client connections", s.connections())
        yield GaugeMetricFamily(
            "numlookup_ongoing_requests", "Live lookups in progress on this server", s.ongoing()
        )


class MetricsListener:
    def __init__(self, sources: Sources) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ServerCollector(sources))
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def start(self, where: Listen) -> str:
        """Listen; the address really bound, as host:port."""
        self._server, self._thread = start_http_server(where.port, where.host, self.registry)
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
