"""E.212 MCC+MNC look-ups over the mcc-mnc-p1 table."""

from __future__ import annotations

import pytest

from numlookup.numbers.e212 import is_known_plmn, operator, split_imsi


@pytest.mark.parametrize(
    ("plmn", "known"),
    [
        ("24008", True),  # Telenor Sverige, 2-digit MNC
        ("310260", True),  # T-Mobile US, 3-digit MNC
        ("99998", False),
        ("24099", False),
        ("2400", False),
        ("240", False),
        ("", False),
        ("2400800", False),
        # E.212 reserves MCC 999 for networks' internal use, and the table lists
        # 999 99 as such: "known" means "in the table", not "a public network".
        ("99999", True),
    ],
)
def test_is_known_plmn(plmn: str, known: bool) -> None:
    assert is_known_plmn(plmn) is known


@pytest.mark.parametrize(
    ("imsi", "split"),
    [
        ("240081234567890", ("240", "08")),
        ("310260123456789", ("310", "260")),
        ("24008", ("240", "08")),
        ("310260", ("310", "260")),
        # 999 999 is listed beside 999 99: a 3-digit MNC is tried first.
        ("999999123456789", ("999", "999")),
        ("999991234567890", ("999", "99")),
        ("240991234567890", None),
        ("2400", None),
        ("", None),
        ("24008123456789x", None),
        ("24a081234567890", None),
        (" 240081234567890", None),
        ("٢٤٠٠٨١٢٣٤٥٦٧٨٩٠", None),  # digits, but not ASCII
    ],
)
def test_split_imsi(imsi: str, split: tuple[str, str] | None) -> None:
    assert split_imsi(imsi) == split


@pytest.mark.parametrize(
    ("plmn", "name"),
    [
        ("24008", "Telenor Sverige AB"),
        # Listed once per territory it serves (US, Puerto Rico, Virgin Islands).
        ("310260", "T-Mobile US"),
        ("99998", None),
    ],
)
def test_operator(plmn: str, name: str | None) -> None:
    assert operator(plmn) == name
