"""The rows of the ported-number and range files: the clean line, and the bad row's reason.

The fast path of numlookup.store.csvimport checks a whole block of the file
with one regular expression: a line of a clean file, `msisdn,mccmnc` or
`+msisdn,mccmnc`, ending in LF or CRLF, whose msisdn is a possible E.164
number (or, for ranges, a prefix that starts with an assigned country code).
The expression is built from the same table as msisdn.is_possible, country
codes nested digit by digit so that the engine tries one branch per digit; the
tests hold it to is_possible and is_range_prefix for every country code and
length.

A row the expression does not take goes through the csv module, and a bad one
is reported with what is wrong with it (key_problem, plmn_problem).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from numlookup.numbers import msisdn


def _digit_runs(lengths: Iterable[int]) -> str:
    """A pattern of ASCII digits of one of `lengths`: `[0-9]{6,10}|[0-9]{12}`."""
    runs: list[list[int]] = []
    for n in sorted(set(lengths)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "|".join(f"[0-9]{{{a}}}" if a == b else f"[0-9]{{{a},{b}}}" for a, b in runs)


def _code_trie(tails: dict[str, str]) -> str:
    """Country codes (a prefix-free set, E.164 §6.2), each followed by its own tail pattern."""
    branches: dict[str, dict[str, str]] = {}
    for code, tail in tails.items():
        branches.setdefault(code[0], {})[code[1:]] = tail
    parts = []
    for digit, rest in sorted(branches.items()):
        if "" in rest:  # the code ends with this digit
            parts.append(f"{digit}(?:{rest['']})")
        else:
            parts.append(digit + _code_trie(rest))
    return "(?:" + "|".join(parts) + ")"


def possible_number_pattern() -> str:
    """msisdn.is_possible as a pattern: a country code, then one of its national lengths."""
    tails = {}
    for code, lengths in msisdn.NSN_LENGTHS.items():
        fitting = [n for n in lengths if len(code) + n <= msisdn.MAX_DIGITS]
        if fitting:
            tails[code] = _digit_runs(fitting)
    return _code_trie(tails)


def range_prefix_pattern() -> str:
    """csvimport.is_range_prefix as a pattern: 1-15 digits that start with a country code."""
    codes = _code_trie(dict.fromkeys(msisdn.NSN_LENGTHS, ""))
    return f"(?=[0-9]{{1,{msisdn.MAX_DIGITS}}},){codes}[0-9]*"


def row_pattern(key: str) -> re.Pattern[str]:
    """A clean line: the key (group 1, without `+`) and a 5- or 6-digit MCC+MNC (group 2)."""
    return re.compile(rf"^\+?({key}),([0-9]{{5,6}})\r?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # "ported" or "ranges"
    key: str  # the first column's name
    is_valid: Callable[[str], bool]
    clean_row: re.Pattern[str]  # the fast path's line (see above)
    dedupe_always: bool  # small files: remember every key on the first pass


def key_problem(kind: Kind, key: str) -> str:
    shown = repr(key[:24])
    if not key:
        return f"{kind.key} is empty"
    if not (key.isdigit() and key.isascii()):
        return f"{kind.key} {shown} is not digits"
    if len(key) > msisdn.MAX_DIGITS:
        return f"{kind.key} {shown} has more than {msisdn.MAX_DIGITS} digits"
    if msisdn.country_code(key) is None:
        return f"{kind.key} {shown} does not start with an assigned country code"
    return f"{kind.key} {shown} is not a possible E.164 number (length)"


def plmn_problem(plmn: str) -> str:
    shown = repr(plmn[:24])
    if not (plmn.isdigit() and plmn.isascii() and len(plmn) in (5, 6)):
        return f"mccmnc {shown} is not 5 or 6 digits (MCC and 2- or 3-digit MNC)"
    return f"mccmnc {shown} is not a known E.212 MCC+MNC"
