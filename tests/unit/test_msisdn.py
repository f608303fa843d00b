"""E.164 MSISDNs: the fast table against libphonenumber as the oracle."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneNumber,
    ValidationResult,
    is_possible_number,
    is_possible_number_with_reason,
    national_significant_number,
)

from numlookup.errors import MsisdnInvalid
from numlookup.numbers.msisdn import (
    MAX_DIGITS,
    NSN_LENGTHS,
    country_code,
    is_possible,
    mask,
    normalize,
)

_ALL_CODES = sorted({str(code) for code in COUNTRY_CODE_TO_REGION_CODE} | set(NSN_LENGTHS), key=int)


def _phone_number(cc: str, nsn: str) -> PhoneNumber:
    """+<cc><nsn> as libphonenumber's own parser stores it, leading zeros included.

    The national number is an integer, so zeros in front are kept as
    `italian_leading_zero` and `number_of_leading_zeros`, set as
    `phonenumbers.phonenumberutil._set_italian_leading_zeros_for_phone_number`
    sets them (an NSN of zeros only keeps its last zero in the integer).
    """
    number = PhoneNumber(country_code=int(cc), national_number=int(nsn))
    if len(nsn) > 1 and nsn[0] == "0":
        zeros = min(len(nsn) - len(nsn.lstrip("0")), len(nsn) - 1)
        number.italian_leading_zero = True
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    assert national_significant_number(number) == nsn
    return number


def _oracle(cc: str, nsn: str) -> bool:
    """libphonenumber's verdict, capped at the 15 digits of E.164 §6.1."""
    if not nsn:
        return False  # no plan has an empty national number
    possible = (
        is_possible_number_with_reason(_phone_number(cc, nsn)) == ValidationResult.IS_POSSIBLE
    )
    return possible and len(cc) + len(nsn) <= MAX_DIGITS


def _oracle_country_code(digits: str) -> str | None:
    for n in (1, 2, 3):
        if (
            digits[:1] != "0"
            and len(digits) >= n
            and int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE
        ):
            return digits[:n]
    return None


def test_table_has_every_country_code() -> None:
    assert set(NSN_LENGTHS) == {str(code) for code in COUNTRY_CODE_TO_REGION_CODE}
    assert all(lengths and 0 not in lengths for lengths in NSN_LENGTHS.values())


@pytest.mark.parametrize("cc", _ALL_CODES)
def test_every_country_code_and_length_agrees_with_libphonenumber(cc: str) -> None:
    for length in range(18):
        for zeros in (0, 1, 2):
            if zeros > length:
                continue
            nsn = "0" * zeros + "1" * (length - zeros)
            assert is_possible(cc + nsn) == _oracle(cc, nsn), (cc, nsn)
            assert country_code(cc + nsn) == cc


def test_e164_cap_overrides_longer_plans() -> None:
    # Germany's plan allows 14- and 15-digit national numbers, so libphonenumber
    # calls +49 followed by 14 digits possible; E.164 §6.1 caps the whole at 15.
    number = "49" + "1" * 14
    assert (
        is_possible_number_with_reason(_phone_number("49", "1" * 14))
        == ValidationResult.IS_POSSIBLE
    )
    assert not is_possible(number)


def test_local_only_lengths_are_not_possible() -> None:
    # Germany's plan has 2- and 3-digit numbers dialled only within an area;
    # the library's plain is_possible_number accepts them, an MSISDN cannot be one.
    local = _phone_number("49", "123")
    assert is_possible_number_with_reason(local) == ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    assert is_possible_number(local)
    assert not is_possible("49123")


@given(st.text("0123456789", min_size=1, max_size=18))
@example("46708100100")
@example("0046708100100")
@example("1")
def test_random_digits_agree_with_libphonenumber(digits: str) -> None:
    cc = _oracle_country_code(digits)
    assert country_code(digits) == cc
    expected = cc is not None and _oracle(cc, digits[len(cc) :])
    assert is_possible(digits) == expected


@given(st.sampled_from(_ALL_CODES), st.text("0123456789", max_size=16))
def test_random_national_numbers_agree_with_libphonenumber(cc: str, nsn: str) -> None:
    assert is_possible(cc + nsn) == _oracle(cc, nsn)


@given(st.text(max_size=18))
def test_anything_but_ascii_digits_is_impossible(text: str) -> None:
    if not (text.isascii() and text.isdigit()):
        assert not is_possible(text)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("46708100100", "46708100100"),
        ("+46708100100", "46708100100"),  # sent as %2B46708100100
        (" 46708100100", "46708100100"),  # an unescaped '+' arrives as a space
        ("0046708100100", "46708100100"),
        ("14155552671", "14155552671"),
        ("447911123456", "447911123456"),
        ("3584573975000", "3584573975000"),
    ],
)
def test_normalize(raw: str, digits: str) -> None:
    assert normalize(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+",
        " ",
        "00",
        "4670810010a",
        "abc",
        "46 708100100",
        "46-708100100",
        "46708100100 ",
        "++46708100100",
        "+ 46708100100",
        "+0046708100100",
        " 0046708100100",
        "000046708100100",
        "4670810010012345",  # 16 digits
        "49" + "1" * 14,  # 16 digits that Germany's plan would allow
        "4612345",  # a 5-digit national number is too short for Sweden
        "4670810010012",  # 11 digits: Sweden has 10 and 12, not 11
        "999123456789",  # 999 is not an assigned country code
        "0123456789",
        "٤٦٧٠٨١٠٠١٠٠",  # Arabic-Indic digits are digits, but not ASCII
        "４６７０８１００１００",  # fullwidth digits
        "46708100100\x00",
    ],
)
def test_normalize_refuses(raw: str) -> None:
    with pytest.raises(MsisdnInvalid):
        normalize(raw)


@pytest.mark.parametrize(
    ("digits", "cc"),
    [
        ("46708100100", "46"),
        ("14155552671", "1"),
        ("3584573975000", "358"),
        ("79161234567", "7"),
        ("88234", "882"),  # international networks
        ("46", "46"),
        ("999", None),
        ("0046708100100", None),
        ("", None),
        ("x46", None),
    ],
)
def test_country_code(digits: str, cc: str | None) -> None:
    assert country_code(digits) == cc


@pytest.mark.parametrize(
    ("msisdn", "masked"),
    [
        ("46708100100", "4670810****"),
        ("123456", "12****"),
        ("12345", "*****"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask(msisdn: str, masked: str) -> None:
    assert mask(msisdn) == masked
