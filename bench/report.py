"""Read the wrk outputs of one bench/run.sh run and print the results table.

    python bench/report.py --raw DIR [--rss NAME=KB ...] [--note TEXT ...] [--out FILE]

DIR holds one wrk output per run, named `<target>.r<round>.txt`, and beside it
`<target>.r<round>.cpu`, CPU clock ticks over the run from /proc, one
`name value...` per line:

    hz 100                      ticks per second
    wall_ns 10021000000         length of the run
    server 512                  ticks used by the server (all its threads and children)
    wrk 498                     ticks used by wrk
    server_cpu_idle 120         idle ticks of the servers' CPU
    wrk_cpu_idle 300            idle ticks of wrk's CPU (both absent without pinning)

A CPU's time that is neither idle nor its own process's went to other
processes, interrupts, or (in a virtual machine) another guest.

Per target the table shows the median over the rounds of req/s, p50, p99, the
server's CPU time per request and the shares of their CPUs that the server and
wrk kept busy; the largest share of either CPU that other work took in a round;
and the errors wrk counted (non-2xx answers, socket errors) summed over the
rounds. Then the checks:
each ratio is of the medians, with the per-round ratios after it (the targets
take turns within a round, so a round's ratio compares runs made close in time).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

TARGETS = {
    "nginx-http": "nginx HTTP",
    "nginx-https": "nginx HTTPS",
    "numlookup-http": "numlookup HTTP, cached",
    "numlookup-https": "numlookup HTTPS, cached",
    "numlookup-uncached": "numlookup HTTP, uncached",
}
# (name, numerator, denominator, lowest acceptable ratio)
RATIOS = (
    ("numlookup cached HTTP / nginx HTTP", "numlookup-http", "nginx-http", 0.8),
    ("numlookup cached HTTPS / nginx HTTPS", "numlookup-https", "nginx-https", 0.7),
    ("uncached / cached HTTP", "numlookup-uncached", "numlookup-http", 0.8),
)
P99_LIMIT_MS = 5.0
P99_TARGETS = ("numlookup-http", "numlookup-https", "numlookup-uncached")

BUSY_WARNING = 0.05  # others' share of a CPU worth a warning

UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_us_per_request: float | None = None  # the server's CPU time per answered request
    server_share: float | None = None  # share of the servers' CPU the server used
    wrk_share: float | None = None  # share of wrk's CPU that wrk used
    others_share: float | None = None  # largest share of either CPU that other work took


def parse_cpu(text: str, requests: int) -> dict[str, float]:
    """The CPU figures of one run from its `.cpu` file (see the module docstring)."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            fields[name] = int(value)
    hz, wall_ns = fields.get("hz", 0), fields.get("wall_ns", 0)
    if hz <= 0 or wall_ns <= 0:
        return {}
    wall = wall_ns * hz / 1e9  # in ticks
    server, wrk = fields.get("server", 0), fields.get("wrk", 0)
    found: dict[str, float] = {"server_share": server / wall, "wrk_share": wrk / wall}
    if requests:
        found["cpu_us_per_request"] = server / hz * 1e6 / requests
    # Time on a CPU that was neither idle nor its own process's: other processes,
    # interrupts, and time the hypervisor gave to someone else.
    others = [
        max(0.0, wall - fields[idle] - own) / wall
        for idle, own in (("server_cpu_idle", server), ("wrk_cpu_idle", wrk))
        if idle in fields
    ]
    if others:
        found["others_share"] = max(others)
    return found


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match[1]) * UNITS_MS[match[2]]


def parse_wrk(text: str) -> Run:
    """The numbers of one `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not (rps and p50 and p99 and total):
        raise ValueError("not a complete `wrk --latency` output")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Run(
        rps=float(rps[1]),
        p50_ms=_duration_ms(p50[1]),
        p99_ms=_duration_ms(p99[1]),
        requests=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


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
        cpu = path.with_suffix(".cpu")
        if cpu.exists():
            run = replace(run, **parse_cpu(cpu.read_text(), run.requests))
        runs.setdefault(match[1], {})[int(match[2])] = run
    return runs, problems


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    target: str
    met: bool | None  # None: a run it needs is missing


def checks(runs: dict[str, dict[int, Run]]) -> list[Check]:
    found: list[Check] = []
    for name, top, bottom, floor in RATIOS:
        a, b = runs.get(top), runs.get(bottom)
        target = f"≥ {floor:.2f}"
        if not a or not b:
            found.append(Check(name, "n/a", target, None))
            continue
        ratio = median([r.rps for r in a.values()]) / median([r.rps for r in b.values()])
        per_round = ", ".join(f"{a[i].rps / b[i].rps:.2f}" for i in sorted(set(a) & set(b)))
        value = f"{ratio:.2f} (rounds: {per_round}"
        # The same ratio from server CPU per request: what the servers would do alone
        # on their CPU, less disturbed by other work on the machine.
        cost_a = [r.cpu_us_per_request for r in a.values() if r.cpu_us_per_request]
        cost_b = [r.cpu_us_per_request for r in b.values() if r.cpu_us_per_request]
        if cost_a and cost_b:
            value += f"; by CPU/req: {median(cost_b) / median(cost_a):.2f}"
        found.append(Check(name, value + ")", target, ratio >= floor))
    for key in P99_TARGETS:
        got = runs.get(key)
        name, target = f"p99 {TARGETS[key]}", f"≤ {P99_LIMIT_MS:g} ms"
        if not got:
            found.append(Check(name, "n/a", target, None))
            continue
        p99 = median([r.p99_ms for r in got.values()])
        found.append(Check(name, f"{p99:.2f} ms", target, p99 <= P99_LIMIT_MS))
    # Throughput means little if some answers were errors or connections broke.
    for key, label in TARGETS.items():
        got = runs.get(key)
        if got:
            bad = sum(r.non_2xx + r.socket_errors for r in got.values())
            total = sum(r.requests for r in got.values())
            found.append(Check(f"errors {label}", f"{bad} of {total:,}", "0", bad == 0))
    return found


def render(
    runs: dict[str, dict[int, Run]], rss: list[str], notes: list[str], problems: list[str]
) -> str:
    lines = [
        "| target | req/s (median) | p50 ms | p99 ms | server CPU µs/req | server CPU busy"
        " | wrk CPU busy | others on CPUs (max) | rounds | non-2xx | socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    busiest = 0.0
    for key, label in TARGETS.items():
        got = runs.get(key)
        if not got:
            lines.append(f"| {label} | not measured | | | | | | | 0 | | |")
            continue
        values = list(got.values())
        per_request = [r.cpu_us_per_request for r in values if r.cpu_us_per_request is not None]
        busy = [r.server_share for r in values if r.server_share is not None]
        wrk_busy = [r.wrk_share for r in values if r.wrk_share is not None]
        others = [r.others_share for r in values if r.others_share is not None]
        busiest = max([busiest, *others])
        lines.append(
            f"| {label} | {median([r.rps for r in values]):,.0f}"
            f" | {median([r.p50_ms for r in values]):.2f}"
            f" | {median([r.p99_ms for r in values]):.2f}"
            f" | {f'{median(per_request):.1f}' if per_request else 'n/a'}"
            f" | {f'{median(busy):.0%}' if busy else 'n/a'}"
            f" | {f'{median(wrk_busy):.0%}' if wrk_busy else 'n/a'}"
            f" | {f'{max(others):.0%}' if others else 'n/a'}"
            f" | {len(values)}"
            f" | {sum(r.non_2xx for r in values)}"
            f" | {sum(r.socket_errors for r in values)} |"
        )

    lines += ["", "| check | value | target | verdict |", "|---|---:|---:|---|"]
    for check in checks(runs):
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[check.met]
        lines.append(f"| {check.name} | {check.value} | {check.target} | {verdict} |")

    if rss:
        lines += ["", "| numlookup memory | VmRSS |", "|---|---:|"]
        for item in rss:
            name, _, kb = item.partition("=")
            shown = f"{int(kb) / 1024:,.0f} MiB" if kb.strip().isdigit() else kb
            lines.append(f"| {name} | {shown} |")
    if busiest > BUSY_WARNING:
        notes = [
            f"other work took up to {busiest:.0%} of a benchmark CPU during a run:"
            " these numbers are noisier than usual",
            *notes,
        ]
    if notes or problems:
        lines.append("")
        lines += [f"- {note}" for note in notes]
        lines += [f"- unreadable run output: {problem}" for problem in problems]
    return "\n".join(lines) + "\n"


def failed_checks(runs: dict[str, dict[int, Run]]) -> int:
    """How many checks are not met or not measured."""
    return sum(1 for check in checks(runs) if not check.met)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", type=Path, required=True, help="directory of wrk outputs")
    parser.add_argument("--rss", action="append", default=[], help="NAME=KB, repeatable")
    parser.add_argument("--note", action="append", default=[], help="a line under the table")
    parser.add_argument("--title", default="numlookup benchmark")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a check is not met or not measured"
    )
    args = parser.parse_args(argv)

    runs, problems = load(args.raw)
    table = render(runs, args.rss, args.note, problems)
    print(table, end="")
    if args.out:
        args.out.write_text(f"# {args.title}\n\n{table}")
    if args.strict and failed_checks(runs):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
