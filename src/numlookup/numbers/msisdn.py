"""E.164 MSISDNs: normalising what clients send and deciding what is possible.

The rule for "possible" is libphonenumber's `is_possible_number_with_reason`
answering IS_POSSIBLE: the country calling code is assigned and the national
significant number has one of the lengths that country's plan allows (ITU-T
E.164 §6; lengths from the metadata of the code's main region). The library
takes ~18 µs a call, too slow for a request path that runs it on every lookup,
so this module builds a table of (country code -> allowed lengths) from the
same metadata once at import and answers with two dict look-ups. The library
stays the oracle in the tests, for every country code and length.

Two deliberate differences from the library's plain `is_possible_number`:

* Local-only lengths (`possible_length_local_only`, IS_POSSIBLE_LOCAL_ONLY,
  e.g. Germany's 2- and 3-digit local numbers) are not possible: an MSISDN is
  always the full international number.
* E.164 §6.1 caps a number at 15 digits, country code included. A few plans
  list national numbers that break the cap (Germany's 14- and 15-digit
  numbers, and some in Indonesia, Japan, Korea, Nigeria and Uruguay); the
  library calls those possible and we do not.
"""

from __future__ import annotations

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from numlookup.errors import MsisdnInvalid

# ITU-T E.164 §6.1: at most 15 digits including the country code.
MAX_DIGITS = 15


def _build_table() -> dict[str, frozenset[int]]:
    table: dict[str, frozenset[int]] = {}
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        main = regions[0]
        if main == "001":
            metadata = PhoneMetadata.metadata_for_nongeo_region(code)
        else:
            metadata = PhoneMetadata.metadata_for_region(main)
        if metadata is None or metadata.general_desc is None:
            continue
        lengths = metadata.general_desc.possible_length
        if not lengths or lengths == (-1,):
            continue
        table[str(code)] = frozenset(n for n in lengths if n > 0)
    return table


NSN_LENGTHS: dict[str, frozenset[int]] = _build_table()


def country_code(digits: str) -> str | None:
    """The E.164 country calling code that starts `digits`, if one is assigned.

    Country codes are a prefix-free set (E.164 §6.2), so the first match wins.
    """
    for n in (1, 2, 3):
        cc = digits[:n]
        if cc in NSN_LENGTHS:
            return cc
    return None


def is_possible(digits: str) -> bool:
    """True when `digits` (country code first, digits only) is a possible E.164 number."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_DIGITS:
        return False
    for n in (1, 2, 3):
        lengths = NSN_LENGTHS.get(digits[:n])
        if lengths is not None:
            return len(digits) - n in lengths
    return False


def normalize(raw: str) -> str:
    """The MSISDN as digits only, from what a client sent.

    A leading `+` (sent as `%2B`, or unescaped, when it arrives as a space) or
    international prefix `00` is accepted and dropped. Raises MsisdnInvalid for
    anything that is then not a possible E.164 number.
    """
    if raw[:1] in ("+", " "):
        raw = raw[1:]
    elif raw[:2] == "00":
        raw = raw[2:]
    if not is_possible(raw):
        raise MsisdnInvalid(raw)
    return raw


def mask(msisdn: str) -> str:
    """An MSISDN for the logs: the country-code end kept, the subscriber end hidden."""
    if len(msisdn) <= 5:
        return "*" * len(msisdn)
    return msisdn[:-4] + "****"
