"""Time the lookup query parser against urllib.parse.parse_qsl.

    .venv/bin/python bench/parse_query.py

Prints µs per call for each query form and how many times faster the parser
is than parse_qsl alone (which does less: no msisdn or nocache rules, no
result object).
"""

from __future__ import annotations

import timeit
from urllib.parse import parse_qsl

from numlookup.wire.query import parse_lookup_query

QUERIES = [
    b"msisdn=46708100100",
    b"msisdn=46708100100&nocache",
    b"msisdn=%2B46708100100",
    b"nocache&msisdn=46708100100",
    b"msisdn=46708100100&nocache=0&user=x",
    b"",
]


def per_call(statement: str, names: dict[str, object], number: int) -> float:
    """The best of five runs of `statement`, in µs per call."""
    timer = timeit.Timer(statement, globals=names)
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    number = 200_000
    print(f"{'query':40} {'parse_lookup_query':>20} {'parse_qsl':>12} {'ratio':>7}")
    for query in QUERIES:
        ours = per_call("parse(query)", {"parse": parse_lookup_query, "query": query}, number)
        theirs = per_call(
            "parse_qsl(text, keep_blank_values=True)",
            {"parse_qsl": parse_qsl, "text": query.decode("latin-1")},
            number,
        )
        print(f"{query.decode()!r:40} {ours:17.3f} µs {theirs:9.3f} µs {theirs / ours:6.1f}x")


if __name__ == "__main__":
    main()
