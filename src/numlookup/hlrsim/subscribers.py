"""The HLR simulator's subscriber table: MSISDN or prefix -> answer or behaviour.

A CSV file, one rule a line, `#` starts a comment, an optional header row:

    prefix,behaviour,imsi,network_node,delay_ms
    46708100100,ok,240080000000100,46708999999,
    4670810,ok,240080000000000,46708999999,
    46708100666,absent,,,
    4670899,delay,240080000000000,46708999999,2500

`prefix` is an MSISDN or an E.164 prefix; the longest matching rule answers.
`behaviour` is one of BEHAVIOURS: `ok` answers RoutingInfoForSM-Res with `imsi`
(for a prefix rule, the IMSI's last digits are replaced by the MSISDN's, so each
number gets its own) and `network_node` (the serving MSC's E.164 number);
the MAP errors answer ReturnError with that error; `no-answer` never answers,
`tcap-abort` answers TC-U-ABORT, `reject` answers a Reject component,
`v2-only` refuses the v3 application context and then answers as `ok`,
`delay` answers as `ok` after `delay_ms`. A number matching no rule gets
unknownSubscriber, as a real HLR would.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from numlookup.errors import DataImportError
from numlookup.service.prefixes import PrefixMap

BEHAVIOURS = (
    "ok",
    "unknown",
    "absent",
    "absent-subscriber",
    "teleservice-not-provisioned",
    "barred",
    "facility-not-supported",
    "system-failure",
    "data-missing",
    "unexpected-data-value",
    "no-answer",
    "tcap-abort",
    "reject",
    "v2-only",
    "delay",
)
ANSWERING = frozenset({"ok", "v2-only", "delay"})


@dataclass(frozen=True, slots=True)
class Rule:
    prefix: str
    behaviour: str
    imsi: str = ""
    network_node: str = ""
    delay_ms: int = 0

    def imsi_for(self, msisdn: str) -> str:
        """The rule's IMSI; for a prefix rule, ending in the MSISDN's own digits."""
        if msisdn == self.prefix or not self.imsi:
            return self.imsi
        tail = msisdn[len(self.prefix) :][-(len(self.imsi) - 5) :]
        return self.imsi[: len(self.imsi) - len(tail)] + tail


UNKNOWN = Rule("", "unknown")


class SubscriberTable:
    def __init__(self, rules: list[Rule]) -> None:
        self._rules = PrefixMap((rule.prefix, rule) for rule in rules)

    def rule_for(self, msisdn: str) -> Rule:
        return self._rules.longest(msisdn) or UNKNOWN

    def __len__(self) -> int:
        return len(self._rules)


def _rule(cells: list[str]) -> Rule:
    cells = [c.strip() for c in cells] + [""] * (5 - len(cells))
    prefix, behaviour, imsi, node, delay = cells[:5]
    prefix = prefix.removeprefix("+")
    if not prefix.isdigit() or len(prefix) > 15:
        raise ValueError(f"prefix {prefix!r} is not 1-15 digits")
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r} is not one of {', '.join(BEHAVIOURS)}")
    if behaviour in ANSWERING:
        if not (imsi.isdigit() and 6 <= len(imsi) <= 15):
            raise ValueError(f"behaviour {behaviour} needs an IMSI of 6-15 digits")
        node = node.removeprefix("+")
        if not (node.isdigit() and len(node) <= 15):
            raise ValueError(f"behaviour {behaviour} needs a network node E.164 number")
    delay_ms = 0
    if behaviour == "delay":
        if not delay.isdigit():
            raise ValueError("behaviour delay needs delay_ms")
        delay_ms = int(delay)
    return Rule(prefix, behaviour, imsi, node, delay_ms)


def parse(text: str) -> SubscriberTable:
    """The table in `text`; DataImportError lists every bad line."""
    rules: list[Rule] = []
    bad: list[tuple[int, str]] = []
    seen: set[str] = set()
    for number, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        if number == 1 and not cells[0].strip().lstrip("+").isdigit():
            continue  # a header row
        try:
            rule = _rule(cells)
        except ValueError as exc:
            bad.append((number, str(exc)))
            continue
        if rule.prefix in seen:
            bad.append((number, f"prefix {rule.prefix} repeats an earlier rule"))
            continue
        seen.add(rule.prefix)
        rules.append(rule)
    if bad:
        raise DataImportError(bad)
    return SubscriberTable(rules)


def load(path: Path) -> SubscriberTable:
    return parse(path.read_text(encoding="utf-8"))
