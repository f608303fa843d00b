"""Write the TCAP/MAP test vectors of this folder with pycrate (TCAP_MAPv2v3).

    .venv/bin/python tests/vectors/tcap/make_vectors.py

Each vector is one TC message, as pycrate encodes the value described here; the
files hold its hex on one line. README.md lists them. Our codec is checked
against these bytes, so re-run this only to add vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycrate_asn1dir import TCAP_MAPv2v3

HERE = Path(__file__).parent
DIALOGUE_AS_ID = (0, 0, 17, 773, 1, 1, 1)
V3 = (0, 4, 0, 0, 1, 0, 20, 3)
V2 = (0, 4, 0, 0, 1, 0, 20, 2)
OUR_TID = bytes.fromhex("0a0b0c0d")
HLR_TID = bytes.fromhex("00010203")
MSISDN = bytes.fromhex("916407180001f0")  # 46708100100 international E.164
SC_ADDRESS = bytes.fromhex("916407000090f9")  # 46700000099
IMSI = bytes.fromhex("42000810325476f8")  # 240080012345678
NODE = bytes.fromhex("916407000001f0")  # 46700000100 (the serving MSC)
SGSN = bytes.fromhex("916407000002f0")  # 46700000200


def dialogue(pdu: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "direct-reference": DIALOGUE_AS_ID,
        "encoding": ("single-ASN1-type", ("DialoguePDU", pdu)),
    }


def aarq(acn: tuple[int, ...]) -> dict[str, Any]:
    request = {"protocol-version": (1, 1), "application-context-name": acn}
    return dialogue(("dialogueRequest", request))


def aarq_with_open_info(acn: tuple[int, ...]) -> dict[str, Any]:
    """AARQ whose user-information carries MAP-OpenInfo (TS 29.002 §17.4)."""
    open_info = {"destinationReference": MSISDN, "originationReference": SC_ADDRESS}
    user = {
        "direct-reference": (0, 4, 0, 0, 1, 1, 1, 1),  # map-DialogueAS
        "encoding": ("single-ASN1-type", ("MAP-DialoguePDU", ("map-open", open_info))),
    }
    request = {
        "protocol-version": (1, 1),
        "application-context-name": acn,
        "user-information": [user],
    }
    return dialogue(("dialogueRequest", request))


def aare(acn: tuple[int, ...], result: int = 0, source: str = "user", diag: int = 0) -> Any:
    response = {
        "protocol-version": (1, 1),
        "application-context-name": acn,
        "result": result,
        "result-source-diagnostic": (f"dialogue-service-{source}", diag),
    }
    return dialogue(("dialogueResponse", response))


def sri_sm_invoke() -> tuple[str, Any]:
    argument = {"msisdn": MSISDN, "sm-RP-PRI": True, "serviceCentreAddress": SC_ADDRESS}
    invoke = {
        "invokeId": ("present", 1),
        "opcode": ("local", 45),
        "argument": (("MAP-SM-DataTypes", "RoutingInfoForSM-Arg"), argument),
    }
    return ("basicROS", ("invoke", invoke))


def result(res: dict[str, Any]) -> tuple[str, Any]:
    body = {
        "opcode": ("local", 45),
        "result": (("MAP-SM-DataTypes", "RoutingInfoForSM-Res"), res),
    }
    return ("basicROS", ("returnResult", {"invokeId": ("present", 1), "result": body}))


def error(code: int, parameter: tuple[str, Any] | None = None) -> tuple[str, Any]:
    value: dict[str, Any] = {"invokeId": ("present", 1), "errcode": ("local", code)}
    if parameter is not None:
        value["parameter"] = (("MAP-ER-DataTypes", parameter[0]), parameter[1])
    return ("basicROS", ("returnError", value))


def end(components: list[Any], dlg: Any = None) -> tuple[str, Any]:
    value: dict[str, Any] = {"dtid": OUR_TID, "components": components}
    if dlg is not None:
        value["dialoguePortion"] = dlg
    return ("end", value)


VECTORS: dict[str, tuple[str, tuple[str, Any]]] = {
    "begin_v3": (
        "Begin: AARQ shortMsgGatewayContext-v3, invoke 1 sendRoutingInfoForSM "
        "(msisdn 46708100100, sm-RP-PRI TRUE, serviceCentreAddress 46700000099)",
        ("begin", {"otid": OUR_TID, "dialoguePortion": aarq(V3), "components": [sri_sm_invoke()]}),
    ),
    "begin_v2": (
        "Begin: the same, with AARQ shortMsgGatewayContext-v2",
        ("begin", {"otid": OUR_TID, "dialoguePortion": aarq(V2), "components": [sri_sm_invoke()]}),
    ),
    "begin_v3_open_info": (
        "Begin: AARQ v3 whose user-information is a MAP-OpenInfo (destinationReference "
        "46708100100, originationReference 46700000099), and the same invoke",
        (
            "begin",
            {
                "otid": OUR_TID,
                "dialoguePortion": aarq_with_open_info(V3),
                "components": [sri_sm_invoke()],
            },
        ),
    ),
    "end_result": (
        "End: AARE v3 accepted; returnResult 1 sendRoutingInfoForSM, RoutingInfoForSM-Res "
        "imsi 240080012345678, networkNode-Number 46700000100, lmsi 01020304",
        end(
            [
                result(
                    {
                        "imsi": IMSI,
                        "locationInfoWithLMSI": {
                            "networkNode-Number": NODE,
                            "lmsi": b"\x01\x02\x03\x04",
                        },
                    }
                )
            ],
            aare(V3),
        ),
    ),
    "end_result_gprs": (
        "End: no dialogue portion; RoutingInfoForSM-Res with networkNode-Number 46700000200 "
        "(an SGSN), gprsNodeIndicator, additional-Number msc-Number 46700000100, and an "
        "extensionContainer (empty pcs-Extensions), fields a v3 HLR may add",
        end(
            [
                result(
                    {
                        "imsi": IMSI,
                        "locationInfoWithLMSI": {
                            "networkNode-Number": SGSN,
                            "gprsNodeIndicator": 0,
                            "additional-Number": ("msc-Number", NODE),
                        },
                        "extensionContainer": {"pcs-Extensions": {}},
                    }
                )
            ],
        ),
    ),
    "end_error_unknown_subscriber": (
        "End: AARE v3 accepted; returnError 1 unknownSubscriber (1), UnknownSubscriberParam "
        "unknownSubscriberDiagnostic imsiUnknown(0)",
        end(
            [error(1, ("UnknownSubscriberParam", {"unknownSubscriberDiagnostic": "imsiUnknown"}))],
            aare(V3),
        ),
    ),
    "end_error_absent_subscriber_sm": (
        "End: returnError 1 absentSubscriberSM (6), AbsentSubscriberSM-Param "
        "absentSubscriberDiagnosticSM 1",
        end([error(6, ("AbsentSubscriberSM-Param", {"absentSubscriberDiagnosticSM": 1}))]),
    ),
    "end_error_teleservice_not_provisioned": (
        "End: returnError 1 teleserviceNotProvisioned (11), no parameter",
        end([error(11)]),
    ),
    "end_error_call_barred": (
        "End: returnError 1 callBarred (13), extensibleCallBarredParam callBarringCause "
        "barringServiceActive(0)",
        end(
            [
                error(
                    13,
                    (
                        "CallBarredParam",
                        ("extensibleCallBarredParam", {"callBarringCause": "barringServiceActive"}),
                    ),
                )
            ]
        ),
    ),
    "end_error_facility_not_supported": (
        "End: returnError 1 facilityNotSupported (21), empty FacilityNotSupParam",
        end([error(21, ("FacilityNotSupParam", {}))]),
    ),
    "end_error_absent_subscriber": (
        "End: returnError 1 absentSubscriber (27), no parameter (as older HLRs send it)",
        end([error(27)]),
    ),
    "end_error_system_failure": (
        "End: returnError 1 systemFailure (34), SystemFailureParam networkResource hlr(2) "
        "(the MAP v2 form, a bare ENUMERATED)",
        end([error(34, ("SystemFailureParam", ("networkResource", "hlr")))]),
    ),
    "end_error_data_missing": (
        "End: returnError 1 dataMissing (35), empty DataMissingParam",
        end([error(35, ("DataMissingParam", {}))]),
    ),
    "end_error_unexpected_data_value": (
        "End: returnError 1 unexpectedDataValue (36), no parameter",
        end([error(36)]),
    ),
    "end_reject": (
        "End: reject, invokeId 1, invoke problem mistypedParameter(2)",
        end([("basicROS", ("reject", {"invokeId": ("present", 1), "problem": ("invoke", 2)}))]),
    ),
    "end_reject_not_derivable": (
        "End: reject, invokeId not derivable (NULL), general problem badlyStructuredComponent(2)",
        end([("basicROS", ("reject", {"invokeId": ("absent", 0), "problem": ("general", 2)}))]),
    ),
    "abort_v3_refused": (
        "Abort (TC-U-ABORT): AARE shortMsgGatewayContext-v2, result reject-permanent(1), "
        "dialogue-service-user application-context-name-not-supported(2): an HLR refusing v3",
        ("abort", {"dtid": OUR_TID, "reason": ("u-abortCause", aare(V2, 1, "user", 2))}),
    ),
    "abort_abrt": (
        "Abort (TC-U-ABORT): ABRT abort-source dialogue-service-user(0)",
        (
            "abort",
            {
                "dtid": OUR_TID,
                "reason": ("u-abortCause", dialogue(("dialogueAbort", {"abort-source": 0}))),
            },
        ),
    ),
    "abort_p_abort": (
        "Abort (TC-P-ABORT): p-abortCause unrecognizedTransactionID(1)",
        ("abort", {"dtid": OUR_TID, "reason": ("p-abortCause", 1)}),
    ),
    "continue_aare": (
        "Continue: otid 00010203, dtid 0a0b0c0d, AARE v3 accepted, and an invoke "
        "(id -1, linked to 1, opcode 45, no parameter)",
        (
            "continue",
            {
                "otid": HLR_TID,
                "dtid": OUR_TID,
                "dialoguePortion": aare(V3),
                "components": [
                    (
                        "basicROS",
                        (
                            "invoke",
                            {
                                "invokeId": ("present", -1),
                                "linkedId": ("present", 1),
                                "opcode": ("local", 45),
                            },
                        ),
                    )
                ],
            },
        ),
    ),
}


def main() -> None:
    pdu = TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message
    for name, (_, value) in VECTORS.items():
        pdu.set_val(value)
        (HERE / f"{name}.hex").write_text(pdu.to_ber().hex() + "\n")


if __name__ == "__main__":
    main()
