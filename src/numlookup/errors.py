"""The one exception tree of numlookup.

    NumlookupError
    ├── LookupRefused            answered HTTP 200 with `result=<code>`
    │   ├── MsisdnMissing        Mandatory parameter msisdn not found
    │   ├── MsisdnInvalid        msisdn is invalid
    │   ├── RangeNotAccepted     MSISDN range is not accepted
    │   ├── LookupBlocked        IMSI_LOOKUP_BLOCKED
    │   └── Throttled            REQUEST_THROTTLED
    ├── HttpError                answered with its own HTTP status
    ├── ConfigError              start-up refuses to run; names the key
    ├── StoreError               database problems
    │   ├── AccountExists
    │   ├── AccountNotFound
    │   ├── RecordsRejected      lookup records refused for what they hold: set
    │   │                        aside in rejected-records.jsonl, never retried
    │   └── SharedStoreError     Redis unreachable or refusing: each server
    │                            falls back to its own cache and counts
    ├── DataImportError          a CSV import with bad rows (line numbers inside)
    └── CodecError               bytes from a signalling peer that a codec cannot
                                 accept; `layer` names the protocol (m3ua, sccp,
                                 tcap, map, ber, ipa)

Errors of third-party libraries are translated into these at the boundary.
"""

from __future__ import annotations

from numlookup.results import ResultCode


class NumlookupError(Exception):
    """Base of every error numlookup raises on purpose."""


class LookupRefused(NumlookupError):
    result: ResultCode = ResultCode.SYSTEM_FAILURE


class MsisdnMissing(LookupRefused):
    result = ResultCode.MSISDN_NOT_FOUND


class MsisdnInvalid(LookupRefused):
    result = ResultCode.MSISDN_INVALID


class RangeNotAccepted(LookupRefused):
    result = ResultCode.RANGE_NOT_ACCEPTED


class LookupBlocked(LookupRefused):
    result = ResultCode.IMSI_LOOKUP_BLOCKED


class Throttled(LookupRefused):
    result = ResultCode.REQUEST_THROTTLED


class HttpError(NumlookupError):
    """A request refused at the HTTP level; `status` is the response status."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{status} {reason}" + (f": {detail}" if detail else ""))
        self.status = status
        self.reason = reason
        self.detail = detail


class ConfigError(NumlookupError):
    """A configuration value is missing or wrong; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {key}: {problem}")
        self.key = key


class StoreError(NumlookupError):
    """The database refused or failed an operation."""


class AccountExists(StoreError):
    pass


class AccountNotFound(StoreError):
    pass


class RecordsRejected(StoreError):
    """The database refused lookup records for what they hold, not for how it was reached.

    A NUL in a text, a number beyond its column, a NULL where a value is
    required: the same records would be refused again, so the record writer
    sets them aside instead of holding them as in an outage. The store wrote
    none of the records of the call that raised it.
    """


class SharedStoreError(StoreError):
    """The shared cache and ongoing-request counts (Redis) cannot be used now.

    Never an answer of its own: the pipeline answers from the server's local
    cache and counts instead.
    """


class DataImportError(NumlookupError):
    """An import file has bad rows; `rows` lists (line number, reason)."""

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        shown = "; ".join(f"line {n}: {why}" for n, why in rows[:20])
        more = f" (and {len(rows) - 20} more)" if len(rows) > 20 else ""
        super().__init__(f"{len(rows)} bad rows: {shown}{more}")
        self.rows = rows


class CodecError(NumlookupError):
    """Signalling bytes a decoder cannot accept (truncated, malformed, unsupported).

    Decoders raise only this, whatever the input; `layer` names the protocol so
    the adapter can answer as that layer's standard says (an M3UA ERR, a TCAP
    P-Abort).
    """

    def __init__(self, layer: str, message: str) -> None:
        super().__init__(f"{layer}: {message}")
        self.layer = layer
