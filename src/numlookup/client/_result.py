"""The parsed answer of one lookup, and the pure parser of the response body.

The body is `result=<CODE>`, then `;imsi=<MCC+MNC>` when the result is OK, then
`;location=<country calling code>` when the server knows it (README, "The
interface"). Fields the client does not know are tolerated and ignored, so a
server may add some later.
"""

from __future__ import annotations

from dataclasses import dataclass

from numlookup.client._exceptions import ResponseError
from numlookup.numbers.e212 import split_imsi
from numlookup.results import ResultCode

_CODES: dict[str, ResultCode] = {code.value: code for code in ResultCode}


@dataclass(frozen=True, slots=True)
class LookupResult:
    """What one server answered for one MSISDN.

    `imsi` is the MCC+MNC exactly as sent (never a subscriber's IMSI); `mcc` and
    `mnc` split it by the E.212 table, or as 3 digits of MCC and the rest as MNC
    when the table does not know the network. `raw` is the body as received and
    `server` the base URL of the server that answered.
    """

    result: ResultCode
    mcc: str | None
    mnc: str | None
    imsi: str | None
    location: str | None
    raw: str
    server: str

    @property
    def ok(self) -> bool:
        return self.result is ResultCode.OK


def parse_body(body: str, server: str = "") -> LookupResult:
    """A LookupResult from a `/lookup` body; ResponseError when it is not one."""
    fields: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            raise ResponseError("field without '='", body, server)
        fields.setdefault(name, value)
    if not body.startswith("result="):
        raise ResponseError("body does not start with 'result='", body, server)
    code = _CODES.get(fields["result"])
    if code is None:
        raise ResponseError(f"unknown result code {fields['result']!r}", body, server)
    imsi = fields.get("imsi") or None
    mcc, mnc = _split(imsi)
    return LookupResult(
        result=code,
        mcc=mcc,
        mnc=mnc,
        imsi=imsi,
        location=fields.get("location") or None,
        raw=body,
        server=server,
    )


def _split(imsi: str | None) -> tuple[str | None, str | None]:
    if not imsi:
        return None, None
    known = split_imsi(imsi)
    if known:
        return known
    # A network missing from the table: MCC is always 3 digits (E.212 §2.2).
    return imsi[:3], (imsi[3:] or None)
