"""Read the measurements of one bench/scale.sh run and print the results tables.

    python bench/scale_report.py --dir DIR --rows N [--note TEXT ...] [--out FILE] [--strict]

DIR (bench/out/scale-last) holds:

- `import/<tool>.r<round>`: one timed import (bench/scale.py measure): `seconds`,
  `max_rss_kb`, `user_seconds`, `system_seconds`, `status`, `rows`, one
  `name value` per line. The tools: numlookup-sqlite, sqlite3-import,
  numlookup-postgresql, psql-copy and psql-primary-key (the reference for
  PostgreSQL is the two together: the same indexed table numlookup ends with).
- `raw/<store>-<cached|uncached>.r<round>.txt`: wrk's output (bench/scale.lua),
  with `.cpu` beside it (CPU ticks over the run, as bench/report.py reads them,
  plus `database`: PostgreSQL's ticks) and `.mem` (the server's `VmRSS`,
  `RssAnon` and `RssFile` in kB after the run).
- `raw/<store>.start.mem`, `raw/<store>.end.mem`: the server's memory after
  start-up and after all runs.

Imports: the median over rounds of each tool's time, as rows/s, with each
numlookup import's ratio to its engine's reference tool. Lookups: the medians
over rounds of req/s, p50 and p99 per store and load, the ratio uncached /
cached per store (per round too), and the server's largest VmRSS. The checks
are the issue's targets: import >= 1M rows/s, uncached >= 0.8 x cached on the
same store, server RSS <= 256 MB whatever the data size.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import Run, parse_cpu, parse_wrk

IMPORT_TARGET = 1_000_000  # rows/s
RATIO_TARGET = 0.8  # uncached / cached
RSS_TARGET_MB = 256
STORES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
IMPORTS = (
    # (tool, label, engine)
    ("numlookup-sqlite", "numlookup np import ported → SQLite", "sqlite"),
    ("sqlite3-import", "sqlite3 CLI .import (same table, WAL)", "sqlite"),
    ("numlookup-postgresql", "numlookup np import ported → PostgreSQL", "postgresql"),
    ("psql-copy+key", "psql \\copy, then ADD PRIMARY KEY", "postgresql"),
    ("psql-copy", "  of which \\copy", "postgresql"),
    ("psql-primary-key", "  of which ADD PRIMARY KEY", "postgresql"),
    ("numlookup-sqlite-replacing", "numlookup → SQLite again, serving meanwhile", "sqlite"),
    (
        "numlookup-postgresql-replacing",
        "numlookup → PostgreSQL again, serving meanwhile",
        "postgresql",
    ),
)
MODES = {"cached": "cached", "uncached": "uncached", "replacing": "uncached, during the import"}
# Each numlookup import against the tool that builds the same table.
REFERENCE = {
    "numlookup-sqlite": ("sqlite3-import", ".import"),
    "numlookup-postgresql": ("psql-copy+key", "\\copy + key"),
}


def read_fields(path: Path) -> dict[str, float]:
    fields: dict[str, float] = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        try:
            fields[name] = float(value)
        except ValueError:
            continue
    return fields


# ------------------------------------------------------------------ imports


@dataclass(frozen=True)
class Import:
    seconds: float
    max_rss_kb: float
    cpu_seconds: float
    status: int


def load_imports(folder: Path) -> dict[str, dict[int, Import]]:
    found: dict[str, dict[int, Import]] = {}
    for path in sorted(folder.glob("*.r*")):
        match = re.fullmatch(r"(.+)\.r(\d+)", path.name)
        if not match:
            continue
        fields = read_fields(path)
        found.setdefault(match[1], {})[int(match[2])] = Import(
            seconds=fields.get("seconds", 0.0),
            max_rss_kb=fields.get("max_rss_kb", 0.0),
            cpu_seconds=fields.get("user_seconds", 0.0) + fields.get("system_seconds", 0.0),
            status=int(fields.get("status", -1)),
        )
    # The PostgreSQL reference: COPY and the key, round by round.
    copy, key = found.get("psql-copy", {}), found.get("psql-primary-key", {})
    both = {
        r: Import(
            copy[r].seconds + key[r].seconds,
            max(copy[r].max_rss_kb, key[r].max_rss_kb),
            copy[r].cpu_seconds + key[r].cpu_seconds,
            copy[r].status or key[r].status,
        )
        for r in set(copy) & set(key)
    }
    if both:
        found["psql-copy+key"] = both
    return found


def import_tables(imports: dict[str, dict[int, Import]], rows: int) -> tuple[list[str], list[str]]:
    lines = [
        f"| import of {rows:,} rows | seconds | rows/s | rate vs reference | peak RSS | CPU s"
        " | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    checks: list[str] = []
    for tool, label, _engine in IMPORTS:
        got = imports.get(tool)
        if not got:
            continue
        seconds = statistics.median(i.seconds for i in got.values())
        rate = rows / seconds if seconds else 0.0
        ratio = ""
        reference_tool, reference_name = REFERENCE.get(tool, ("", ""))
        reference = imports.get(reference_tool)
        if reference:
            ref_seconds = statistics.median(i.seconds for i in reference.values())
            ratio = f"{ref_seconds / seconds:.2f} × {reference_name}"
        rss = max(i.max_rss_kb for i in got.values()) / 1024
        cpu = statistics.median(i.cpu_seconds for i in got.values())
        lines.append(
            f"| {label} | {seconds:,.1f} | {rate:,.0f} | {ratio} | {rss:,.0f} MiB"
            f" | {cpu:,.0f} | {len(got)} |"
        )
        if tool in REFERENCE:
            met = rate >= IMPORT_TARGET
            checks.append(
                f"| import rate, {label.split('→ ')[-1]} | {rate:,.0f} rows/s"
                f" | ≥ {IMPORT_TARGET:,} | {'met' if met else 'NOT MET'} |"
            )
            checks.append(
                f"| import peak RSS (CLI), {label.split('→ ')[-1]} | {rss:,.0f} MiB"
                f" | ≤ {RSS_TARGET_MB} MiB | {'met' if rss <= RSS_TARGET_MB else 'NOT MET'} |"
            )
    return lines, checks


# ------------------------------------------------------------------ lookups


@dataclass(frozen=True)
class Lookup:
    run: Run
    bad_bodies: int
    database_share: float | None  # PostgreSQL's CPU over the run, in CPUs
    memory_kb: dict[str, int]


def load_lookups(raw: Path) -> tuple[dict[str, dict[int, Lookup]], list[str]]:
    found: dict[str, dict[int, Lookup]] = {}
    problems: list[str] = []
    for path in sorted(raw.glob("*.r*.txt")):
        match = re.fullmatch(r"(.+)\.r(\d+)\.txt", path.name)
        if not match:
            continue
        text = path.read_text()
        try:
            run = parse_wrk(text)
        except ValueError as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        cpu_path = path.with_suffix(".cpu")
        database = None
        if cpu_path.exists():
            cpu_text = cpu_path.read_text()
            run = Run(**{**run.__dict__, **parse_cpu(cpu_text, run.requests)})
            fields = read_fields(cpu_path)
            if "database" in fields and fields.get("hz") and fields.get("wall_ns"):
                wall_ticks = fields["wall_ns"] * fields["hz"] / 1e9
                database = fields["database"] / wall_ticks
                run = Run(**{**run.__dict__, "others_share": _others(fields, wall_ticks)})
        bad = re.search(r"^Unexpected bodies: (\d+)", text, re.M)
        mem_path = path.with_suffix(".mem")
        memory = read_memory(mem_path) if mem_path.exists() else {}
        found.setdefault(match[1], {})[int(match[2])] = Lookup(
            run, int(bad[1]) if bad else 0, database, memory
        )
    return found, problems


def _others(fields: dict[str, float], wall: float) -> float | None:
    """The largest share of either CPU that neither its own process nor PostgreSQL took."""
    on_cpu = int(fields.get("database_cpu", -1))
    shares = []
    for cpu, (idle, own) in enumerate((("server_cpu_idle", "server"), ("wrk_cpu_idle", "wrk"))):
        if idle in fields:
            used = fields.get(own, 0.0) + (fields["database"] if cpu == on_cpu else 0.0)
            shares.append(max(0.0, wall - fields[idle] - used) / wall)
    return max(shares) if shares else None


def read_memory(path: Path) -> dict[str, int]:
    return {name: int(value) for name, value in read_fields(path).items()}


def lookup_tables(
    lookups: dict[str, dict[int, Lookup]], raw: Path
) -> tuple[list[str], list[str], list[str]]:
    lines = [
        "| store | load | req/s | p50 ms | p99 ms | server CPU µs/req | server CPU busy"
        " | PostgreSQL CPU | wrk CPU busy | others on CPUs (max) | errors | VmRSS after |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks: list[str] = []
    memory_lines = [
        "| server | VmRSS | RssAnon | RssFile |",
        "|---|---:|---:|---:|",
    ]
    for store, store_label in STORES.items():
        for mode, mode_label in MODES.items():
            got = lookups.get(f"{store}-{mode}")
            if not got:
                continue
            values = list(got.values())
            runs = [v.run for v in values]

            def med(numbers: list[float]) -> float:
                return statistics.median(numbers)

            per_request = [r.cpu_us_per_request for r in runs if r.cpu_us_per_request]
            busy = [r.server_share for r in runs if r.server_share is not None]
            wrk_busy = [r.wrk_share for r in runs if r.wrk_share is not None]
            others = [r.others_share for r in runs if r.others_share is not None]
            database = [v.database_share for v in values if v.database_share is not None]
            errors = sum(
                r.non_2xx + r.socket_errors + v.bad_bodies
                for r, v in zip(runs, values, strict=True)
            )
            rss = max((v.memory_kb.get("VmRSS", 0) for v in values), default=0) / 1024
            lines.append(
                f"| {store_label} | {mode_label} | {med([r.rps for r in runs]):,.0f}"
                f" | {med([r.p50_ms for r in runs]):.2f} | {med([r.p99_ms for r in runs]):.2f}"
                f" | {f'{med(per_request):.1f}' if per_request else 'n/a'}"
                f" | {f'{med(busy):.0%}' if busy else 'n/a'}"
                f" | {f'{med(database):.0%}' if database else ''}"
                f" | {f'{med(wrk_busy):.0%}' if wrk_busy else 'n/a'}"
                f" | {f'{max(others):.0%}' if others else 'n/a'}"
                f" | {errors} | {rss:,.0f} MiB |"
            )
        cached, uncached = lookups.get(f"{store}-cached"), lookups.get(f"{store}-uncached")
        if cached and uncached:
            ratio = statistics.median(v.run.rps for v in uncached.values()) / statistics.median(
                v.run.rps for v in cached.values()
            )
            rounds = sorted(set(cached) & set(uncached))
            per_round = ", ".join(f"{uncached[r].run.rps / cached[r].run.rps:.2f}" for r in rounds)
            met = ratio >= RATIO_TARGET
            checks.append(
                f"| uncached / cached, {store_label} | {ratio:.2f} (rounds: {per_round})"
                f" | ≥ {RATIO_TARGET} | {'met' if met else 'NOT MET'} |"
            )
        all_runs = [v for m in MODES for v in (lookups.get(f"{store}-{m}") or {}).values()]
        if all_runs:
            worst = max(all_runs, key=lambda v: v.memory_kb.get("VmRSS", 0))
            rss = worst.memory_kb.get("VmRSS", 0) / 1024
            anon = worst.memory_kb.get("RssAnon", 0) / 1024
            met = rss <= RSS_TARGET_MB
            checks.append(
                f"| server RSS, {store_label} (largest after a run) | {rss:,.0f} MiB"
                f" (anonymous {anon:,.0f}) | ≤ {RSS_TARGET_MB} MiB"
                f" | {'met' if met else 'NOT MET'} |"
            )
        for moment in ("start", "end"):
            path = raw / f"{store}.{moment}.mem"
            if path.exists():
                memory = read_memory(path)
                memory_lines.append(
                    f"| {store_label}, after {'start-up' if moment == 'start' else 'all runs'}"
                    + "".join(
                        f" | {memory.get(name, 0) / 1024:,.0f} MiB"
                        for name in ("VmRSS", "RssAnon", "RssFile")
                    )
                    + " |"
                )
    return lines, checks, memory_lines


def render(folder: Path, rows: int, notes: list[str]) -> tuple[str, int]:
    imports = load_imports(folder / "import")
    lookups, problems = load_lookups(folder / "raw")
    import_lines, import_checks = import_tables(imports, rows)
    lookup_lines, lookup_checks, memory_lines = lookup_tables(lookups, folder / "raw")
    checks = import_checks + lookup_checks
    lines = [*import_lines, "", *lookup_lines, "", *memory_lines, ""]
    lines += ["| check | value | target | verdict |", "|---|---:|---:|---|", *checks]
    failed = [
        "failed import: " + tool
        for tool, got in imports.items()
        if any(i.status for i in got.values())
    ]
    if notes or problems or failed:
        lines.append("")
        lines += [f"- {note}" for note in notes]
        lines += [f"- unreadable run output: {problem}" for problem in problems]
        lines += [f"- {item}" for item in failed]
    not_met = sum("NOT MET" in check for check in checks) + len(failed)
    return "\n".join(lines) + "\n", not_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="bench/out/scale-last")
    parser.add_argument("--rows", type=int, required=True, help="rows in the import file")
    parser.add_argument("--note", action="append", default=[], help="a line under the tables")
    parser.add_argument("--out", type=Path, help="also write the tables (Markdown) here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check is not met")
    args = parser.parse_args(argv)
    table, not_met = render(args.dir, args.rows, args.note)
    print(table, end="")
    if args.out:
        args.out.write_text(f"# numlookup at national scale\n\n{table}")
    return 1 if args.strict and not_met else 0


if __name__ == "__main__":
    sys.exit(main())
