"""ITU-T E.212 mobile network codes (MCC+MNC), from the `mcc-mnc-p1` tables.

The MNC has 2 or 3 digits and its length cannot be read off the digits
(E.212 §2.2; 22 MCCs mix both lengths), so the table decides.
"""

from __future__ import annotations

from mcc_mnc_lut.p1_mnc import P1_MNC

# Keys are MCC+MNC strings: "24008" (MNC 08), "310260" (MNC 260).
_PLMNS: frozenset[str] = frozenset(P1_MNC)


def is_known_plmn(plmn: str) -> bool:
    """True when `plmn` (MCC followed by a 2- or 3-digit MNC) is in the E.212 table."""
    return plmn in _PLMNS


def split_imsi(imsi: str) -> tuple[str, str] | None:
    """(MCC, MNC) of an IMSI (or of a bare MCC+MNC): 3-digit MNC first, then 2."""
    if not imsi.isascii() or not imsi.isdigit():
        return None
    for mnc_len in (3, 2):
        plmn = imsi[: 3 + mnc_len]
        if len(plmn) == 3 + mnc_len and plmn in _PLMNS:
            return plmn[:3], plmn[3:]
    return None


def operator(plmn: str) -> str | None:
    """The network's operator name, for people (CLI listings), if the table has one."""
    entry = P1_MNC.get(plmn)
    if not entry:
        return None
    # A network that serves several territories (310260 in US, PR and VI) is a
    # list of entries, one per territory; the first name found is the one.
    for item in entry if isinstance(entry, list) else (entry,):
        name = item.get("operator") or item.get("brand")
        if name:
            return str(name)
    return None
