"""Write the pycrate-built SCCP test vectors of this folder (README.md lists them).

    .venv/bin/python tests/vectors/sccp/make_vectors.py

Each vector is one SCCP message as pycrate 0.8 (`pycrate_mobile.SCCP`) encodes the
value set here; the file holds its hex on one line. The vectors taken from other
projects are not written here. Our codec is checked against these bytes, so re-run
this only to add vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycrate_mobile import SCCP

HERE = Path(__file__).parent
TCAP_BEGIN = bytes.fromhex("620a4804000000016c02a100")  # a stand-in for TCAP user data


def address(
    party: Any,
    route_on_ssn: int,
    gti: int,
    ssn: int | None = None,
    pc: int | None = None,
    digits: str = "",
    tt: int = 0,
    np: int = 1,
    nai: int = 4,
) -> None:
    value = party["Value"]
    indicator = value["AddrInd"]
    indicator["RoutingInd"].set_val(route_on_ssn)
    indicator["GTInd"].set_val(gti)
    indicator["SSNInd"].set_val(0 if ssn is None else 1)
    indicator["PCInd"].set_val(0 if pc is None else 1)
    if pc is not None:
        value["PC"].set_val(pc)
    if ssn is not None:
        value["SSN"].set_val(ssn)
    if gti == 0:
        return
    gt = value["GT"].get_alt()
    if gti in (3, 4):
        gt["TranslationType"].set_val(tt)
        gt["NumberingPlan"].set_val(np)
    if gti in (1, 4):
        gt["NAI"].set_val(nai)
    if gti == 1:
        gt.set_addr(digits)
    else:
        gt.set_addr_bcd(digits)


def write(name: str, message: Any) -> None:
    (HERE / f"{name}.hex").write_text(message.to_bytes().hex() + "\n")


def main() -> None:
    m = SCCP.SCCPUnitData()
    address(m["CalledPartyAddr"], 0, 4, ssn=6, digits="46701234567")
    address(m["CallingPartyAddr"], 0, 4, ssn=8, digits="46700000001")
    m["Data"]["Value"].set_val(TCAP_BEGIN)
    write("udt_gti4_pycrate", m)

    m = SCCP.SCCPUnitDataService()
    m["RetCause"].set_val(1)
    address(m["CalledPartyAddr"], 0, 4, ssn=8, digits="46700000001")
    address(m["CallingPartyAddr"], 0, 3, ssn=6, digits="4670123456")
    m["Data"]["Value"].set_val(TCAP_BEGIN)
    write("udts_gti4_gti3_pycrate", m)

    m = SCCP.SCCPExtUnitData()
    m["ProtocolClass"]["Class"].set_val(1)
    m["ProtocolClass"]["Handling"].set_val(8)
    m["HopCounter"].set_val(10)
    address(m["CalledPartyAddr"], 0, 4, ssn=6, digits="447700900123")
    address(m["CallingPartyAddr"], 1, 1, ssn=8, pc=1234, digits="4670000001")
    m["Data"]["Value"].set_val(bytes(range(40)))
    m["Opt"]["Importance"].set_trans(False)
    m["Opt"]["Importance"]["Importance"]["Value"].set_val(5)
    m["Opt"]["EOO"].set_trans(False)
    write("xudt_importance_gti1_pycrate", m)

    m = SCCP.SCCPExtUnitData()
    m["HopCounter"].set_val(15)
    address(m["CalledPartyAddr"], 0, 4, ssn=6, digits="46701234567")
    address(m["CallingPartyAddr"], 0, 4, ssn=8, digits="46700000001")
    m["Data"]["Value"].set_val(bytes(200))
    segmentation = m["Opt"]["Segmentation"]
    segmentation.set_trans(False)
    segmentation["Segmentation"]["RemainingSeg"].set_val(1)
    segmentation["Segmentation"]["SegmentLocalRef"].set_val(0x0A0B0C)
    m["Opt"]["EOO"].set_trans(False)
    write("xudt_segmentation_pycrate", m)

    m = SCCP.SCCPExtUnitDataService()
    m["RetCause"].set_val(12)
    m["HopCounter"].set_val(0)
    address(m["CalledPartyAddr"], 1, 0, ssn=8, pc=100)
    address(m["CallingPartyAddr"], 1, 0, ssn=6, pc=200)
    m["Data"]["Value"].set_val(bytes.fromhex("6403490101"))
    write("xudts_ssn_pc_pycrate", m)


if __name__ == "__main__":
    main()
