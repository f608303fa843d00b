"""Time the M3UA and SCCP codecs on the Real-Time Lookup's hot path, against pycrate.

    .venv/bin/python bench/sigtran_codec.py

Encode: an SCCP UDT (called party the MSISDN as GTI 4 global title with SSN 6,
calling party our GT with SSN 8, class 1 with return on error) around 60 octets of
TCAP, inside an M3UA DATA (Routing Context, Protocol Data with OPC, DPC, SI 3).
Decode: the HLR's answer, the same two layers around 80 octets of TCAP, down to
the TCAP octets and the calling party's digits. pycrate (pycrate_mobile.M3UA and
.SCCP) does the same work on the same values. Prints µs per encode and per
decode (best of five runs) for each, the ratio, and operations per second.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from numlookup.ss7 import m3ua, sccp

MSISDN = "46708100100"
OUR_GT = "46700000099"
HLR_GT = "46700000001"
REQUEST_TCAP = bytes(range(60))
ANSWER_TCAP = bytes(range(80))
ROUTING_CONTEXT = 1
OPC, DPC, SLS = 0x101, 0x202, 5


def answer() -> bytes:
    udt = sccp.encode_unitdata(
        sccp.SccpAddress(OUR_GT, sccp.SSN_MSC), sccp.SccpAddress(HLR_GT, sccp.SSN_HLR), ANSWER_TCAP
    )
    pd = m3ua.ProtocolData(DPC, OPC, m3ua.SI_SCCP, m3ua.NI_NATIONAL, 0, SLS, udt)
    return m3ua.encode(m3ua.Data(pd, ROUTING_CONTEXT))


ANSWER = answer()
CALLED = sccp.SccpAddress(MSISDN, sccp.SSN_HLR)
CALLING = sccp.SccpAddress(OUR_GT, sccp.SSN_MSC)


def our_encode() -> bytes:
    udt = sccp.encode_unitdata(CALLED, CALLING, REQUEST_TCAP, 1, True)
    pd = m3ua.ProtocolData(OPC, DPC, m3ua.SI_SCCP, m3ua.NI_NATIONAL, 0, SLS, udt)
    return m3ua.encode(m3ua.Data(pd, ROUTING_CONTEXT))


def our_decode() -> tuple[bytes, str | None]:
    message = m3ua.decode(ANSWER)
    assert isinstance(message, m3ua.Data)
    unitdata = sccp.decode(message.protocol_data.data)
    return unitdata.data, unitdata.calling.digits


def pycrate_codec() -> tuple[Callable[[], bytes], Callable[[], tuple[bytes, str]]]:
    from pycrate_mobile import M3UA, SCCP

    def address(party: Any, digits: str, ssn: int) -> None:
        value = party["Value"]
        value["AddrInd"]["GTInd"].set_val(4)
        value["AddrInd"]["SSNInd"].set_val(1)
        value["SSN"].set_val(ssn)
        gt = value["GT"].get_alt()
        gt["TranslationType"].set_val(0)
        gt["NumberingPlan"].set_val(1)
        gt["NAI"].set_val(4)
        gt.set_addr_bcd(digits)

    def encode() -> bytes:
        udt = SCCP.SCCPUnitData()
        udt["ProtocolClass"]["Class"].set_val(1)
        udt["ProtocolClass"]["Handling"].set_val(8)
        address(udt["CalledPartyAddr"], MSISDN, sccp.SSN_HLR)
        address(udt["CallingPartyAddr"], OUR_GT, sccp.SSN_MSC)
        udt["Data"]["Value"].set_val(REQUEST_TCAP)
        data = M3UA.M3UA_DATA()
        pd = [OPC, DPC, m3ua.SI_SCCP, m3ua.NI_NATIONAL, 0, SLS, udt.to_bytes()]
        data[1].set_val([{"Tag": 6, "Val": [ROUTING_CONTEXT]}, {"Tag": 0x210, "Val": pd}])
        octets: bytes = data.to_bytes()
        return octets

    def decode() -> tuple[bytes, str]:
        message, error = M3UA.parse_M3UA(ANSWER)
        assert error == 0
        pd = message[1].get_prm_first(0x210)
        udt, error = SCCP.parse_SCCP(pd["Data"].get_val(), w_scmg=False)
        assert error == 0
        return udt["Data"]["Value"].get_val(), udt["CallingPartyAddr"].get_gt().get_addr()

    return encode, decode


def best(fn: Callable[[], object], number: int) -> float:
    """µs per call, best of five runs."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    pycrate_encode, pycrate_decode = pycrate_codec()
    assert our_decode() == pycrate_decode()
    assert m3ua.decode(our_encode()) == m3ua.decode(pycrate_encode())
    rows = []
    for what, ours, theirs in (
        ("encode M3UA DATA + SCCP UDT", our_encode, pycrate_encode),
        ("decode M3UA DATA + SCCP UDT", our_decode, pycrate_decode),
    ):
        rows.append((what, best(ours, 20_000), best(theirs, 300)))
    both_ours = sum(r[1] for r in rows)
    both_theirs = sum(r[2] for r in rows)
    rows.append(("encode + decode", both_ours, both_theirs))
    print(f"{'':30} {'numlookup µs':>13} {'pycrate µs':>11} {'ratio':>7} {'numlookup /s':>13}")
    for what, ours_us, theirs_us in rows:
        ratio = theirs_us / ours_us
        print(f"{what:30} {ours_us:13.2f} {theirs_us:11.1f} {ratio:6.0f}x {1e6 / ours_us:13,.0f}")


if __name__ == "__main__":
    main()
