"""Read the wrk outputs of one bench/run.sh run and print the results table.

    python bench/report.py --raw DIR [--rss NAME=KB ...] [--note TEXT ...] [--out FILE]

DIR holds one wrk output per run, named `<target>.r<round>.txt`. Per target the
table shows the median over the rounds of req/s, p50 and p99, and the errors wrk
counted (non-2xx answers, socket errors) summed over the rounds. Then the checks:
each ratio is of the medians, with the per-round ratios after it (the targets
take turns within a round, so a round's ratio compares runs made close in time).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
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

UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


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
        found.append(Check(name, f"{ratio:.2f} (rounds: {per_round})", target, ratio >= floor))
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
        "| target | req/s (median) | p50 ms | p99 ms | rounds | non-2xx | socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in TARGETS.items():
        got = runs.get(key)
        if not got:
            lines.append(f"| {label} | not measured | | | 0 | | |")
            continue
        values = list(got.values())
        lines.append(
            f"| {label} | {median([r.rps for r in values]):,.0f}"
            f" | {median([r.p50_ms for r in values]):.2f}"
            f" | {median([r.p99_ms for r in values]):.2f}"
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
