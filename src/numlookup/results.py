"""Result codes of the Number Lookup HTTP interface and the outcome of one lookup.

The `value` of each code is its text on the wire, byte for byte as the interface
specifies (the three parameter errors are sentences, not identifiers).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ResultCode(enum.Enum):
    OK = "OK"
    DATA_MISSING = "DATA_MISSING"
    UNKNOWN_SUBSCRIBER = "UNKNOWN_SUBSCRIBER"
    CALL_BARRED = "CALL_BARRED"
    ABSENT_SUBSCRIBER_SM = "ABSENT_SUBSCRIBER_SM"
    UNEXPECTED_DATA_VALUE = "UNEXPECTED_DATA_VALUE"
    SYSTEM_FAILURE = "SYSTEM_FAILURE"
    FACILITY_NOT_SUPPORTED = "FACILITY_NOT_SUPPORTED"
    TELE_SERVICE_NOT_PROVISIONED = "TELE_SERVICE_NOT_PROVISIONED"
    HLR_REJECT = "HLR_REJECT"
    HLR_ABORT = "HLR_ABORT"
    HLR_LOCAL_CANCEL = "HLR_LOCAL_CANCEL"
    TIMEOUT = "TIMEOUT"
    REQUEST_THROTTLED = "REQUEST_THROTTLED"
    IMSI_LOOKUP_BLOCKED = "IMSI_LOOKUP_BLOCKED"
    MSISDN_NOT_FOUND = "Mandatory parameter msisdn not found"
    RANGE_NOT_ACCEPTED = "MSISDN range is not accepted"
    MSISDN_INVALID = "msisdn is invalid"


# Outcomes that say something about the number itself rather than about the
# path to it; only these may be cached (see numlookup.service.cache).
CACHEABLE: frozenset[ResultCode] = frozenset(
    {
        ResultCode.OK,
        ResultCode.UNKNOWN_SUBSCRIBER,
        ResultCode.ABSENT_SUBSCRIBER_SM,
        ResultCode.CALL_BARRED,
        ResultCode.TELE_SERVICE_NOT_PROVISIONED,
        ResultCode.FACILITY_NOT_SUPPORTED,
        ResultCode.DATA_MISSING,
        ResultCode.UNEXPECTED_DATA_VALUE,
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one lookup found. `imsi` is MCC+MNC only, never a subscriber's IMSI."""

    result: ResultCode
    imsi: str | None = None
    location: str | None = None

    def body(self) -> bytes:
        """The response body: `result=`, then `;imsi=` and `;location=` on OK only."""
        text = "result=" + self.result.value
        if self.result is ResultCode.OK:
            if self.imsi:
                text += ";imsi=" + self.imsi
            if self.location:
                text += ";location=" + self.location
        return text.encode("iso-8859-1")
