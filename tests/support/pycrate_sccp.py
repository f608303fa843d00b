"""SCCP UDTs made by pycrate, an encoder independent of numlookup's, for test inputs."""

from __future__ import annotations

from typing import Any

from pycrate_mobile import SCCP


def sccp_party(digits: str, ssn: int) -> Any:
    """Q.713 §3.4: route on GT, GTI 4 (TT 0, NP E.164, NAI international), SSN present."""
    party = SCCP.CalledPartyAddr()
    party.set_val(
        {
            "Value": {
                "AddrInd": {"RoutingInd": 0, "GTInd": 4, "SSNInd": 1, "PCInd": 0},
                "SSN": ssn,
                "GT": {"TranslationType": 0, "NumberingPlan": 1, "NAI": 4},
            }
        }
    )
    party[1][3].get_alt().set_addr_bcd(digits)
    return party.get_val()


def sccp_udt(called: tuple[str, int], calling: tuple[str, int], data: bytes) -> bytes:
    udt = SCCP.SCCPUnitData()
    udt["CalledPartyAddr"].set_val(sccp_party(*called))
    udt["CallingPartyAddr"].set_val(sccp_party(*calling))
    udt["Data"].set_val({"Value": data})
    return bytes(udt.to_bytes())
