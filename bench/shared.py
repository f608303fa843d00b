"""Cached lookups: two servers sharing one Redis (and one PostgreSQL) vs one embedded server.

    .venv/bin/python bench/shared.py [--rounds 3] [--seconds 10] [--connections 64]

Starts, on loopback: a Redis and a PostgreSQL in temporary directories (the
test fixtures' code), one embedded numlookup server (SQLite, its own cache) and
two numlookup servers on the shared stores. The same load, two `wrk -t1`
processes of connections/2 each asking for one cached number, goes either
both to the embedded server or one to each shared server; the two set-ups take
turns in each round. Servers, Redis and PostgreSQL run on CPU 0 and wrk on
CPU 1 (so the two shared servers split one core, as the embedded one has it
alone: the figure is the cost of going through Redis, not the gain of a second
machine). Prints the medians of total req/s, the worse p50/p99 of the two wrk
runs, the ratio shared / embedded, and the servers' RSS; everything started is
stopped on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import parse_wrk  # noqa: E402
from tests.integration.serverproc import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

TARGET = "/lookup?msisdn=46708100100"


def pin(pid: int, cpu: int) -> None:
    if (os.cpu_count() or 1) >= 2:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(task), {cpu})


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(servers: list[ServerProcess], connections: int, seconds: int) -> tuple[float, float, float]:
    """Two wrk processes at once, each on `connections` // 2; total req/s, worse p50, p99."""
    script = ROOT / "bench" / "auth.lua"
    procs = []
    for n in range(2):
        host, port = servers[n % len(servers)].http
        cmd = ["wrk", "-t1", f"-c{connections // 2}", f"-d{seconds}s", "--latency",
               "--timeout", "5s", "-s", str(script), f"http://{host}:{port}{TARGET}"]  # fmt: skip
        if (os.cpu_count() or 1) >= 2:
            cmd = ["taskset", "-c", "1", *cmd]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    runs = [parse_wrk(proc.communicate(timeout=seconds + 60)[0]) for proc in procs]
    errors = sum(run.non_2xx + run.socket_errors for run in runs)
    if errors:
        raise SystemExit(f"bench: {errors} errors in a run")
    return (
        sum(run.rps for run in runs),
        max(run.p50_ms for run in runs),
        max(run.p99_ms for run in runs),
    )


@contextlib.contextmanager
def started(var: Path, env: dict[str, str]) -> Iterator[ServerProcess]:
    server = ServerProcess(var, env={"NUMLOOKUP_LOG_LEVEL": "WARNING", **env}).start()
    assert server.proc is not None
    pin(server.proc.pid, 0)
    try:
        yield server
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="numlookup-bench-shared-"))
    redis = RedisServer().start()
    postgres = PostgresServer().start()
    try:
        for proc in (redis.proc, postgres.proc):
            assert proc is not None
            pin(proc.pid, 0)
        shared_env = {
            "NUMLOOKUP_DATABASE_URL": postgres.create_database("bench"),
            "NUMLOOKUP_CACHE_URL": redis.url,
        }
        with (
            started(work / "embedded", {}) as embedded,
            started(work / "primary", shared_env) as primary,
            started(work / "backup", shared_env) as backup,
        ):
            for server in (embedded, primary, backup):
                assert server.get(TARGET) == (200, b"result=OK;imsi=24008")
            results: dict[str, list[tuple[float, float, float]]] = {"embedded": [], "shared": []}
            wrk([embedded], args.connections, 2)  # warm-up
            wrk([primary, backup], args.connections, 2)
            for round_ in range(args.rounds):
                results["embedded"].append(wrk([embedded], args.connections, args.seconds))
                results["shared"].append(wrk([primary, backup], args.connections, args.seconds))
                print(
                    f"round {round_ + 1}: embedded {results['embedded'][-1][0]:,.0f} req/s,"
                    f" shared {results['shared'][-1][0]:,.0f} req/s",
                    file=sys.stderr,
                )
            rss = {
                name: rss_kib(server.proc.pid) // 1024
                for name, server in (
                    ("embedded", embedded),
                    ("primary", primary),
                    ("backup", backup),
                )
                if server.proc is not None
            }
    finally:
        postgres.stop()
        redis.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"Cached lookups, wrk 2 x -t1 -c{args.connections // 2} -d{args.seconds}s,"
          f" {args.rounds} rounds, medians; servers on CPU 0, wrk on CPU 1")  # fmt: skip
    print("| set-up | req/s | p50 | p99 | server RSS |")
    print("|---|---:|---:|---:|---:|")
    medians = {}
    for name, label, servers in (
        ("embedded", "one embedded server (SQLite, own cache)", "embedded"),
        ("shared", "two servers, one Redis + one PostgreSQL", "primary, backup"),
    ):
        runs = results[name]
        medians[name] = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        memory = ", ".join(f"{rss[s.strip()]} MiB" for s in servers.split(","))
        print(f"| {label} | {medians[name]:,.0f} | {p50:.2f} ms | {p99:.2f} ms | {memory} |")
    ratios = [s[0] / e[0] for e, s in zip(results["embedded"], results["shared"], strict=True)]
    print(
        f"\nshared / embedded: {medians['shared'] / medians['embedded']:.2f}"
        f" (per round: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
