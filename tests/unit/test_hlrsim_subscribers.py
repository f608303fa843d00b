import pytest

from numlookup.errors import DataImportError
from numlookup.hlrsim.subscribers import UNKNOWN, parse

TABLE = """prefix,behaviour,imsi,network_node,delay_ms
# the demo operator
4670810,ok,240080000000000,46708999999,
46708100100,ok,240080000000100,+46708999999,
46708100666,absent,,,
4670899,delay,240080000000000,46708999999,2500
358,v2-only,244910000000000,358405999999,
"""


def test_longest_rule_answers() -> None:
    table = parse(TABLE)
    assert len(table) == 5
    exact = table.rule_for("46708100100")
    assert (exact.behaviour, exact.imsi_for("46708100100")) == ("ok", "240080000000100")
    assert exact.network_node == "46708999999"
    assert table.rule_for("46708100666").behaviour == "absent"
    assert table.rule_for("46708991234").delay_ms == 2500
    assert table.rule_for("819012345678") is UNKNOWN


def test_a_prefix_rule_gives_each_number_its_own_imsi() -> None:
    rule = parse(TABLE).rule_for("46708101234")
    assert rule.imsi_for("46708101234") == "240080000001234"
    assert rule.imsi_for("46708109999") == "240080000009999"
    assert len(rule.imsi_for("4670810123456789")) == 15


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("46x,ok,240080000000000,4670,", "prefix"),
        ("4670,sleepy,,,", "behaviour"),
        ("4670,ok,,4670,", "IMSI"),
        ("4670,delay,240080000000000,4670,", "delay_ms"),
    ],
)
def test_bad_lines_are_named(line: str, reason: str) -> None:
    with pytest.raises(DataImportError) as info:
        parse("prefix,behaviour\n46,unknown\n" + line + "\n")
    assert info.value.rows[0][0] == 3
    assert reason in info.value.rows[0][1]


def test_a_repeated_prefix_is_refused() -> None:
    with pytest.raises(DataImportError, match="repeats"):
        parse("46,unknown\n46,absent\n")
