"""Where an uncached portability lookup spends its time, without HTTP.

    python bench/pipeline.py                          # builds a 1M-number database
    python bench/pipeline.py --db bench/out/ported-10000000-s7-*.sqlite3

Drives numlookup's own lookup pipeline (LookupService: query parsing, checks,
cache, resolver, lookup record) in-process, on one core, with three resolvers:

- cached: one ported number, answered from the cache every time;
- uncached, SQLite: random ported numbers with `&nocache`, each a point query
  on the database (bench/make_db.py's layout) and a cache store;
- uncached, free store: the same requests, answered by a resolver that costs
  nothing, so what is left is the pipeline's own cost of a miss (the cache
  store and eviction, a new string per number).

Lookup records go to a list (the writer thread is not measured here), and each
round starts from the same cache. It prints µs per lookup (medians over the
rounds) and what each adds to a cached lookup: with the HTTP server's CPU per
cached request from bench/run.sh or bench/scale.sh, this says how close the
uncached/cached ratio can come to 1 whatever the store.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from make_db import BASE, build, number

from numlookup.config import CacheConfig
from numlookup.results import Outcome, ResultCode
from numlookup.service.cache import MemoryCache
from numlookup.service.pipeline import LookupService, Resolver
from numlookup.service.portability import PortabilityResolver
from numlookup.store.base import Account, LookupRecord
from numlookup.store.sqlite import SqliteStore

ACCOUNT = Account("demo", "unused")
FREE = Outcome(ResultCode.OK, imsi="24008")


class FreeStore:
    """A resolver that answers at once, without any store."""

    service = "portability"
    source = "database"
    counts_as_ongoing = False

    def resolve(self, msisdn: str) -> Outcome:
        return FREE


class Records:
    """Keeps the lookup records in a list, as Recorder.add does before a flush."""

    def __init__(self) -> None:
        self.held: list[LookupRecord] = []

    def add(self, record: LookupRecord) -> None:
        self.held.append(record)


def per_lookup(resolver: Resolver, queries: list[bytes], rounds: int) -> float:
    """Median µs per lookup over `rounds` passes over `queries`."""
    figures = []
    for _ in range(rounds):
        records = Records()
        cache = MemoryCache(CacheConfig().max_entries, CacheConfig().ttl)
        service = LookupService({"portability": resolver}, cache, records)  # type: ignore[arg-type]
        service.lookup(ACCOUNT, queries[0])  # the cached target's entry
        started = time.perf_counter()
        for query in queries:
            service.lookup(ACCOUNT, query)
        figures.append((time.perf_counter() - started) / len(queries) * 1e6)
    return statistics.median(figures)


def count_and_stride(store: SqliteStore) -> tuple[int, int]:
    """make_db.py's layout: the count and the gap between numbers."""
    count, _ = store.portability_counts()
    first = store.ported_lookup(number(0, 1))
    if count < 2 or first is None:
        raise SystemExit("not a database made by bench/make_db.py")
    for stride in range(1, 100):
        if store.ported_lookup(str(BASE + stride)) is not None:
            return count, stride
    raise SystemExit("not a database made by bench/make_db.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a database made by bench/make_db.py")
    parser.add_argument("--lookups", type=int, default=300_000, help="lookups a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        db = args.db
        if db is None:
            db = Path(scratch) / "ported.sqlite3"
            build(1_000_000, 7, db, progress=False)
        store = SqliteStore(db)
        count, stride = count_and_stride(store)
        rng = random.Random(12345)
        uncached = [
            f"msisdn={BASE + rng.randrange(count) * stride}&nocache".encode()
            for _ in range(args.lookups)
        ]
        cached = [f"msisdn={BASE}".encode()] * args.lookups
        sqlite = PortabilityResolver(store)
        figures = {
            "cached": per_lookup(sqlite, cached, args.rounds),
            "uncached, SQLite": per_lookup(sqlite, uncached, args.rounds),
            "uncached, free store": per_lookup(FreeStore(), uncached, args.rounds),
        }
        store.close()

    base = figures["cached"]
    print(f"# lookup pipeline, {count:,} ported numbers (stride {stride}), one core\n")
    print("| lookup | µs per lookup | added to a cached lookup |")
    print("|---|---:|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.2f} | {value - base:+.2f} µs |")
    python = sys.version.split()[0]
    print(f"\n- {args.rounds} rounds of {args.lookups:,} lookups, medians; Python {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
