"""Figures of one bench/realtime.sh run: per-run server records, then the table.

    python bench/realtime_report.py records --db DB --start NS --end NS [--warmup S]
    python bench/realtime_report.py table --raw DIR [--out FILE] [--note TEXT ...]
        [--codec FILE ...] [--inflight N] [--delay-ms MS] [--target-rps N] [--strict]

`records` reads the lookup records numlookup wrote for one wrk run (account
`bench`, finished at or after START, Unix ns) and prints `name value` lines:

    records 50062               lookups of the run, also those wrk stopped waiting for
    not_ok 0                    records whose result is not OK
    not_ok_kinds -              e.g. HLR_LOCAL_CANCEL:3,TIMEOUT:1
    inflight_median 9984        lookups in progress in the server, sampled every 10 ms
    inflight_mean 9731.2        from WARMUP seconds after START until END
    inflight_max 10000
    latency_mean_ms 2201.3      the server's own latency (lookup start to answer)
                                of the lookups finished in that window

A record holds the time a lookup was answered and its latency, so each one is
an interval [time - latency, time]; the lookups in progress at a moment are
the intervals that contain it. Every lookup of the run asks for a number of
its own (bench/realtime.lua), so each is one TCAP dialogue toward hlr-sim.

`table` reads DIR, one wrk output per run named `<target>.r<round>.txt` and
beside it `<target>.r<round>.stats` (`name value` lines: the `records` output
above, CPU clock ticks from /proc and VmRSS, written by realtime.sh), prints
the table and the checks, and with --out writes them as Markdown.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import re
import sqlite3
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ACCOUNT = "bench"
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
BUSY_WARNING = 0.05  # others' share of a CPU worth a warning
IN_FLIGHT_SHARE = 0.95  # the in-flight run must hold this share of its connections
RATE_SHARE = 0.9  # ... and answer at this share of connections / HLR delay


# ---------------------------------------------------------------- records


def records(db: Path, start_ns: int, end_ns: int, warmup: float) -> dict[str, str]:
    start, end = start_ns / 1e9, end_ns / 1e9
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT time, latency_us, result FROM records WHERE account = ? AND time >= ?",
            (ACCOUNT, start),
        ).fetchall()
    finally:
        conn.close()
    kinds: dict[str, int] = {}
    for _, _, result in rows:
        if result != "OK":
            kinds[result] = kinds.get(result, 0) + 1
    ends = sorted(t for t, _, _ in rows)
    starts = sorted(t - us / 1e6 for t, us, _ in rows)
    first = min(start + warmup, (start + end) / 2)
    samples = []
    t = first
    while t < end:
        samples.append(bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t))
        t += 0.01
    window = [us / 1e3 for t, us, _ in rows if first <= t <= end]
    return {
        "records": str(len(rows)),
        "not_ok": str(sum(kinds.values())),
        "not_ok_kinds": ",".join(f"{k}:{n}" for k, n in sorted(kinds.items())) or "-",
        "inflight_median": f"{statistics.median(samples):.0f}" if samples else "0",
        "inflight_mean": f"{statistics.fmean(samples):.1f}" if samples else "0",
        "inflight_max": str(max(samples, default=0)),
        "latency_mean_ms": f"{statistics.fmean(window):.2f}" if window else "0",
    }


# ---------------------------------------------------------------- runs


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    answered: int  # wrk: requests answered within the run
    non_2xx: int
    socket_errors: int
    socket_detail: str
    body_ok: int | None  # answers with the expected body (bench/realtime.lua)
    body_other: int | None
    other_body: str
    stats: dict[str, str] = field(default_factory=dict)

    def num(self, name: str) -> float | None:
        with contextlib.suppress(KeyError, ValueError):
            return float(self.stats[name])
        return None


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match[1]) * UNITS_MS[match[2]]


def parse_wrk(text: str) -> Run:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    mean = re.search(r"^\s+Latency\s+(\S+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not (rps and mean and p50 and p99 and total):
        raise ValueError("not a complete `wrk --latency` output")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(r"Socket errors: (connect \d+, read \d+, write \d+, timeout \d+)", text)
    bodies = re.search(r"^bodies: expected=(\d+) other=(\d+) non2xx=(\d+)", text, re.M)
    other = re.search(r"^other body: (.*)$", text, re.M)
    return Run(
        rps=float(rps[1]),
        p50_ms=_duration_ms(p50[1]),
        p99_ms=_duration_ms(p99[1]),
        mean_ms=_duration_ms(mean[1]),
        answered=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in re.findall(r"\d+", sockets[1])) if sockets else 0,
        socket_detail=sockets[1] if sockets else "",
        body_ok=int(bodies[1]) if bodies else None,
        body_other=int(bodies[2]) if bodies else None,
        other_body=other[1].strip() if other else "",
    )


def read_stats(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        name, _, value = line.strip().partition(" ")
        if name:
            found[name] = value.strip()
    return found


def load(raw: Path) -> tuple[dict[str, dict[int, Run]], list[str]]:
    runs: dict[str, dict[int, Run]] = {}
    problems: list[str] = []
    for path in sorted(raw.glob("*.r*.txt")):
        match = re.fullmatch(r"(.+)\.r(\d+)\.txt", path.name)
        if not match:
            continue
        try:
            run = parse_wrk(path.read_text())
        except ValueError as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        stats = path.with_suffix(".stats")
        if stats.exists():
            run.stats = read_stats(stats.read_text())
        runs.setdefault(match[1], {})[int(match[2])] = run
    return runs, problems


def order(name: str) -> tuple[int, int]:
    """Throughput runs first, by connections; then the in-flight run."""
    match = re.fullmatch(r"(throughput|inflight)-c(\d+)", name)
    if not match:
        return (2, 0)
    return (0 if match[1] == "throughput" else 1, int(match[2]))


def label(name: str) -> str:
    match = re.fullmatch(r"(throughput|inflight)-c(\d+)", name)
    if not match:
        return name
    if match[1] == "throughput":
        return "throughput (answered at once)"
    return "in flight (HLR answers after its delay)"


# ---------------------------------------------------------------- CPU


@dataclass
class Cpu:
    numlookup_us_per_req: float | None = None
    numlookup: float | None = None  # shares of the run's wall time
    hlrsim: float | None = None
    wrk: float | None = None
    others: float | None = None  # the largest share of a CPU that other work took


def cpu(run: Run) -> Cpu:
    hz, wall_ns = run.num("hz"), run.num("wall_ns")
    if not hz or not wall_ns:
        return Cpu()
    wall = wall_ns * hz / 1e9  # in ticks
    nl, hlr, wrk = (run.num(k) or 0.0 for k in ("numlookup_ticks", "hlrsim_ticks", "wrk_ticks"))
    records = run.num("records") or run.answered
    found = Cpu(
        numlookup_us_per_req=nl / hz * 1e6 / records if records else None,
        numlookup=nl / wall,
        hlrsim=hlr / wall,
        wrk=wrk / wall,
    )
    # Pinned: numlookup alone on cpu0, wrk on cpu1, hlr-sim on `hlrsim_cpu`.
    own = {0: nl, 1: wrk}
    hlr_cpu = run.stats.get("hlrsim_cpu", "")
    if hlr_cpu in ("0", "1"):
        own[int(hlr_cpu)] += hlr
    others = [
        max(0.0, wall - idle - own[n]) / wall
        for n in (0, 1)
        if (idle := run.num(f"cpu{n}_idle")) is not None
    ]
    if others:
        found.others = max(others)
    return found


# ---------------------------------------------------------------- table


def median(values: list[float]) -> float:
    return statistics.median(values)


def pct(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    return f"{median(got):.0%}" if got else "n/a"


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    target: str
    met: bool | None


def checks(
    runs: dict[str, dict[int, Run]], inflight: int, delay_ms: int, target_rps: float
) -> list[Check]:
    found: list[Check] = []
    throughput = sorted((k for k in runs if k.startswith("throughput-")), key=order)
    if throughput:
        key = throughput[0]
        rps = median([r.rps for r in runs[key].values()])
        per_round = ", ".join(f"{runs[key][i].rps:,.0f}" for i in sorted(runs[key]))
        found.append(
            Check(
                f"real-time lookups/s, {key.split('-')[1]} (median)",
                f"{rps:,.0f} (rounds: {per_round})",
                f"≥ {target_rps:,.0f}",
                rps >= target_rps,
            )
        )
    else:
        found.append(Check("real-time lookups/s", "n/a", f"≥ {target_rps:,.0f}", None))

    key = f"inflight-c{inflight}"
    got = runs.get(key)
    if not got:
        found.append(Check(f"lookups in flight ({key})", "n/a", f"≈ {inflight:,}", None))
    else:
        values = list(got.values())
        held = [v for r in values if (v := r.num("inflight_median")) is not None]
        if held:
            med = median(held)
            found.append(
                Check(
                    "lookups in flight in the server (median of the per-round medians)",
                    f"{med:,.0f} (max {max(r.num('inflight_max') or 0 for r in values):,.0f})",
                    f"≥ {IN_FLIGHT_SHARE * inflight:,.0f}",
                    med >= IN_FLIGHT_SHARE * inflight,
                )
            )
        ideal = inflight / (delay_ms / 1000)
        rates = [steady_rate(r) for r in values]
        rates_ok = [r for r in rates if r is not None]
        if rates_ok:
            rate = median(rates_ok)
            found.append(
                Check(
                    "in-flight run, steady lookups/s (in flight / mean latency)",
                    f"{rate:,.0f} of {ideal:,.0f} possible",
                    f"≥ {RATE_SHARE * ideal:,.0f}",
                    rate >= RATE_SHARE * ideal,
                )
            )
        after = [r.num("after_ms") for r in values]
        after_ok = [r.stats.get("after_ok") == "1" for r in values]
        if all(a is not None for a in after):
            worst = max(a for a in after if a is not None)
            found.append(
                Check(
                    "after each in-flight run, one more lookup (all dialogues finished)",
                    f"OK in {worst:.1f} ms (slowest)" if all(after_ok) else "wrong answer",
                    "OK, < 100 ms",
                    all(after_ok) and worst < 100,
                )
            )

    for name in sorted(runs, key=order):
        values = list(runs[name].values())
        answered = sum(r.answered for r in values)
        bad_http = sum(r.non_2xx + r.socket_errors for r in values)
        other = sum(r.body_other or 0 for r in values)
        unchecked = any(r.body_ok is None for r in values)
        recorded = [r.num("records") for r in values]
        not_ok = sum(int(r.num("not_ok") or 0) for r in values)
        connections = int(name.rsplit("-c", 1)[-1]) if "-c" in name else 0
        if unchecked or any(v is None for v in recorded):
            found.append(Check(f"none lost, {name}", "not checked", "0 lost", None))
            continue
        cut = [int(v or 0) - r.answered for v, r in zip(recorded, values, strict=True)]
        lost = bad_http + other + not_ok + sum(1 for c in cut if c < 0 or c > connections)
        value = (
            f"{answered:,} answered, all OK" if bad_http + other == 0 else f"{bad_http + other} bad"
        )
        value += f"; {sum(cut):,} still waiting when wrk stopped, answered OK later"
        if not_ok:
            value += f"; {not_ok} records not OK"
        found.append(Check(f"none lost, {name}", value, "0 lost", lost == 0))
    return found


def steady_rate(run: Run) -> float | None:
    """Little's law: lookups in flight / mean latency, from the server's records."""
    mean = run.num("inflight_mean")
    latency = run.num("latency_mean_ms")
    if not mean or not latency:
        return None
    return mean / (latency / 1000)


def render(
    runs: dict[str, dict[int, Run]],
    notes: list[str],
    problems: list[str],
    codec: list[str],
    inflight: int,
    delay_ms: int,
    target_rps: float,
    extra_checks: list[Check],
) -> tuple[str, list[Check]]:
    lines = [
        "| run | connections | req/s (wrk) | p50 ms | p99 ms | lookups in flight"
        " (median / max) | steady lookups/s | numlookup CPU µs/lookup | numlookup CPU"
        " | hlr-sim CPU | wrk CPU | others on CPUs (max) | rounds | non-2xx | socket errors"
        " | other bodies | records not OK |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    busiest = 0.0
    for name in sorted(runs, key=order):
        values = list(runs[name].values())
        cpus = [cpu(r) for r in values]
        per_req = [c.numlookup_us_per_req for c in cpus if c.numlookup_us_per_req is not None]
        others = [c.others for c in cpus if c.others is not None]
        busiest = max([busiest, *others])
        held = [r.num("inflight_median") for r in values]
        held_max = [r.num("inflight_max") for r in values]
        rates = [v for r in values if (v := steady_rate(r)) is not None]
        held_text = (
            f"{median([h for h in held if h is not None]):,.0f} / "
            f"{max(h for h in held_max if h is not None):,.0f}"
            if all(h is not None for h in held + held_max)
            else "n/a"
        )
        lines.append(
            f"| {label(name)} | {name.rsplit('-c', 1)[-1]}"
            f" | {median([r.rps for r in values]):,.0f}"
            f" | {median([r.p50_ms for r in values]):,.2f}"
            f" | {median([r.p99_ms for r in values]):,.2f}"
            f" | {held_text}"
            f" | {f'{median(rates):,.0f}' if rates else 'n/a'}"
            f" | {f'{median(per_req):.1f}' if per_req else 'n/a'}"
            f" | {pct([c.numlookup for c in cpus])}"
            f" | {pct([c.hlrsim for c in cpus])}"
            f" | {pct([c.wrk for c in cpus])}"
            f" | {f'{max(others):.0%}' if others else 'n/a'}"
            f" | {len(values)}"
            f" | {sum(r.non_2xx for r in values)}"
            f" | {sum(r.socket_errors for r in values)}"
            f" | {sum(r.body_other or 0 for r in values)}"
            f" | {sum(int(r.num('not_ok') or 0) for r in values)} |"
        )

    found = checks(runs, inflight, delay_ms, target_rps) + extra_checks
    lines += ["", "| check | value | target | verdict |", "|---|---|---|---|"]
    for check in found:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[check.met]
        lines.append(f"| {check.name} | {check.value} | {check.target} | {verdict} |")

    memory = memory_lines(runs)
    if memory:
        lines += ["", "| memory: VmRSS (RssAnon) | after each round |", "|---|---|", *memory]

    if codec:
        lines += ["", "Codec (one core, best of five; see the scripts' docstrings):", "", "```"]
        lines += codec
        lines.append("```")

    for name in sorted(runs, key=order):
        for rnd, run in sorted(runs[name].items()):
            if run.other_body:
                notes.append(f"{name} round {rnd}: an answer other than expected: {run.other_body}")
            if run.socket_errors:
                notes.append(f"{name} round {rnd}: socket errors {run.socket_detail}")
            kinds = run.stats.get("not_ok_kinds", "-")
            if kinds != "-":
                notes.append(f"{name} round {rnd}: records not OK: {kinds}")
    if busiest > BUSY_WARNING:
        notes.insert(
            0,
            f"other work took up to {busiest:.0%} of a benchmark CPU during a run:"
            " these numbers are noisier than usual",
        )
    if notes or problems:
        lines.append("")
        lines += [f"- {note}" for note in notes]
        lines += [f"- unreadable run output: {problem}" for problem in problems]
    return "\n".join(lines) + "\n", found


def memory_lines(runs: dict[str, dict[int, Run]]) -> list[str]:
    """VmRSS after each round, RssAnon (the process's own, no mapped files) in brackets."""
    found = []
    for who, key in (("numlookup", "numlookup"), ("hlr-sim", "hlrsim")):
        for name in sorted(runs, key=order):
            values = []
            for _, run in sorted(runs[name].items()):
                rss, anon = run.num(f"{key}_rss_kb"), run.num(f"{key}_anon_kb")
                if rss is not None:
                    values.append(
                        f"{rss / 1024:,.0f}" + (f" ({anon / 1024:,.0f})" if anon else "") + " MiB"
                    )
            if values:
                found.append(f"| {who}, after {name} | {' → '.join(values)} |")
    return found


def parse_check(text: str) -> Check:
    """`name|value|target|met` from the shell script (met: 1, 0 or -)."""
    name, value, target, met = [*text.split("|"), "", "", "-"][:4]
    return Check(name, value, target, {"1": True, "0": False}.get(met.strip()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    rec = commands.add_parser("records", help="server records of one run")
    rec.add_argument("--db", type=Path, required=True)
    rec.add_argument("--start", type=int, required=True, help="run start, Unix ns")
    rec.add_argument("--end", type=int, required=True, help="run end, Unix ns")
    rec.add_argument("--warmup", type=float, default=1.0, help="seconds not sampled")

    table = commands.add_parser("table", help="print the table")
    table.add_argument("--raw", type=Path, required=True)
    table.add_argument("--out", type=Path)
    table.add_argument("--note", action="append", default=[])
    table.add_argument("--check", action="append", default=[], help="name|value|target|1/0/-")
    table.add_argument("--codec", type=Path, action="append", default=[])
    table.add_argument("--inflight", type=int, default=10000)
    table.add_argument("--delay-ms", type=int, default=2000)
    table.add_argument("--target-rps", type=float, default=5000)
    table.add_argument("--title", default="numlookup real-time benchmark")
    table.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "records":
        for name, value in records(args.db, args.start, args.end, args.warmup).items():
            print(name, value)
        return 0

    runs, problems = load(args.raw)
    codec: list[str] = []
    for path in args.codec:
        if path.exists():
            codec += [f"$ {path.stem}", *path.read_text().rstrip().splitlines()]
    text, found = render(
        runs,
        list(args.note),
        problems,
        codec,
        args.inflight,
        args.delay_ms,
        args.target_rps,
        [parse_check(c) for c in args.check],
    )
    print(text, end="")
    if args.out:
        args.out.write_text(f"# {args.title}\n\n{text}")
    if args.strict and any(not c.met for c in found):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
