"""tests/support/tshark.py: tshark decodes pycrate-made SRI-SM exchanges as documented.

The messages are built with pycrate (M3UA DATA, SCCP UDT, TCAP/MAP in BER), not with
our codecs, so this checks the decoding helper alone and pins the tshark field names
the SS7 tests rely on.
"""

from __future__ import annotations

from typing import Any

import pytest
from pycrate_asn1dir import TCAP_MAPv2v3
from pycrate_mobile import M3UA

from tests.support import tshark
from tests.support.pycrate_sccp import sccp_udt
from tests.support.tshark import (
    TsharkError,
    decode_m3ua,
    has_malformed,
    map_components,
    tcap_message_type,
)

HLR_GT = "46708100100"  # the called subscriber's number doubles as the HLR's GT here
SMSC_GT = "46700000001"  # our own GT: calling party and serviceCentreAddress
MSISDN = "46708100100"
IMSI = "240080000000100"
NODE = "46708999001"  # networkNode-Number: the serving MSC
SSN_HLR = 6
SSN_MSC = 8

ID_AS_DIALOGUE = (0, 0, 17, 773, 1, 1, 1)  # Q.773 dialogue-as-id
SHORT_MSG_GATEWAY_V3 = (0, 4, 0, 0, 1, 0, 20, 3)  # TS 29.002 §17.3.2
OTID = bytes.fromhex("00000001")
SEND_ROUTING_INFO_FOR_SM = 45
ABSENT_SUBSCRIBER_SM = 6


# ---------------------------------------------------------------- pycrate builders


def tbcd(digits: str) -> bytes:
    """TBCD-STRING (TS 29.002 §17.7.8): two digits an octet, low nibble first, F filler."""
    padded = digits + "F" * (len(digits) % 2)
    return bytes(int(padded[i + 1], 16) << 4 | int(padded[i], 16) for i in range(0, len(padded), 2))


def isdn_address(digits: str) -> bytes:
    """ISDN-AddressString: 0x91 = no extension, international number, ISDN/E.164."""
    return b"\x91" + tbcd(digits)


def tcap(value: tuple[str, dict[str, Any]]) -> bytes:
    message = TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message
    message.set_val(value)
    return bytes(message.to_ber())


def aare(result: int = 0, diagnostic: int = 0) -> dict[str, Any]:
    """Dialogue portion with an AARE (dialogueResponse) for shortMsgGatewayContext v3."""
    return {
        "direct-reference": ID_AS_DIALOGUE,
        "encoding": (
            "single-ASN1-type",
            (
                "DialoguePDU",
                (
                    "dialogueResponse",
                    {
                        "protocol-version": (1, 1),
                        "application-context-name": SHORT_MSG_GATEWAY_V3,
                        "result": result,
                        "result-source-diagnostic": ("dialogue-service-user", diagnostic),
                    },
                ),
            ),
        ),
    }


def sri_sm_begin() -> bytes:
    aarq = {
        "direct-reference": ID_AS_DIALOGUE,
        "encoding": (
            "single-ASN1-type",
            (
                "DialoguePDU",
                (
                    "dialogueRequest",
                    {"protocol-version": (1, 1), "application-context-name": SHORT_MSG_GATEWAY_V3},
                ),
            ),
        ),
    }
    argument = {
        "msisdn": isdn_address(MSISDN),
        "sm-RP-PRI": True,
        "serviceCentreAddress": isdn_address(SMSC_GT),
    }
    invoke = {
        "invokeId": ("present", 1),
        "opcode": ("local", SEND_ROUTING_INFO_FOR_SM),
        "argument": ("RoutingInfoForSM-Arg", argument),
    }
    return tcap(
        (
            "begin",
            {
                "otid": OTID,
                "dialoguePortion": aarq,
                "components": [("basicROS", ("invoke", invoke))],
            },
        )
    )


def sri_sm_end_result() -> bytes:
    res = {"imsi": tbcd(IMSI), "locationInfoWithLMSI": {"networkNode-Number": isdn_address(NODE)}}
    result = {
        "invokeId": ("present", 1),
        "result": {
            "opcode": ("local", SEND_ROUTING_INFO_FOR_SM),
            "result": ("RoutingInfoForSM-Res", res),
        },
    }
    return tcap(
        (
            "end",
            {
                "dtid": OTID,
                "dialoguePortion": aare(),
                "components": [("basicROS", ("returnResult", result))],
            },
        )
    )


def sri_sm_end_error() -> bytes:
    error = {"invokeId": ("present", 1), "errcode": ("local", ABSENT_SUBSCRIBER_SM)}
    return tcap(
        (
            "end",
            {
                "dtid": OTID,
                "dialoguePortion": aare(),
                "components": [("basicROS", ("returnError", error))],
            },
        )
    )


def end_reject() -> bytes:
    """Reject: invoke problem mistypedParameter (2), Q.773 §3.1; no dialogue portion."""
    reject = {"invokeId": ("present", 1), "problem": ("invoke", 2)}
    return tcap(("end", {"dtid": OTID, "components": [("basicROS", ("reject", reject))]}))


def u_abort_ac_not_supported() -> bytes:
    """TC-U-ABORT refusing v3: AARE reject-permanent (1), AC-name-not-supported (2)."""
    return tcap(("abort", {"dtid": OTID, "reason": ("u-abortCause", aare(result=1, diagnostic=2))}))


def p_abort_unrecognized_tid() -> bytes:
    return tcap(("abort", {"dtid": OTID, "reason": ("p-abortCause", 1)}))


def m3ua_data(sccp: bytes, opc: int, dpc: int) -> bytes:
    """M3UA DATA (RFC 4666 §3.3.1) with a routing context and SI 3 = SCCP, NI 2 = national."""
    data = M3UA.M3UA_DATA()
    data[1].set_val(
        [
            {"Tag": M3UA.M3UATag.RoutingContext, "Val": [7]},
            {
                "Tag": M3UA.M3UATag.ProtocolData,
                "Val": {"OPC": opc, "DPC": dpc, "SI": 3, "NI": 2, "MP": 0, "SLS": 0, "Data": sccp},
            },
        ]
    )
    return bytes(data.to_bytes())


def to_hlr(tcap_bytes: bytes) -> bytes:
    return m3ua_data(sccp_udt((HLR_GT, SSN_HLR), (SMSC_GT, SSN_MSC), tcap_bytes), opc=1, dpc=2)


def from_hlr(tcap_bytes: bytes) -> bytes:
    return m3ua_data(sccp_udt((SMSC_GT, SSN_MSC), (HLR_GT, SSN_HLR), tcap_bytes), opc=2, dpc=1)


# ---------------------------------------------------------------- tests

MESSAGES = {
    "begin": lambda: to_hlr(sri_sm_begin()),
    "result": lambda: from_hlr(sri_sm_end_result()),
    "error": lambda: from_hlr(sri_sm_end_error()),
    "reject": lambda: from_hlr(end_reject()),
    "u_abort": lambda: from_hlr(u_abort_ac_not_supported()),
    "p_abort": lambda: from_hlr(p_abort_unrecognized_tid()),
    # The MAP argument cut short inside the TCAP message (lengths above it unchanged).
    "truncated": lambda: to_hlr(sri_sm_begin()[:-5]),
}


@pytest.fixture(scope="module")
def frames() -> dict[str, tshark.Frame]:
    """Every message decoded in a single tshark run."""
    names = list(MESSAGES)
    decoded = decode_m3ua([MESSAGES[name]() for name in names])
    return dict(zip(names, decoded, strict=True))


def test_every_field_is_a_key_with_a_list(frames: dict[str, tshark.Frame]) -> None:
    for frame in frames.values():
        assert set(frame) >= set(tshark.FIELDS)
        assert all(isinstance(values, list) for values in frame.values())
    assert frames["begin"]["e212.imsi"] == []
    assert [frame["frame.number"] for frame in frames.values()] == [
        [str(n)] for n in range(1, len(MESSAGES) + 1)
    ]


def test_begin_with_sri_sm_invoke(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["begin"]
    assert not has_malformed(frame)
    assert frame["m3ua.message_class"] == ["1"]  # transfer messages
    assert frame["m3ua.message_type"] == ["1"]  # DATA
    assert frame["m3ua.routing_context"] == ["7"]
    assert frame["m3ua.protocol_data_opc"] == ["1"]
    assert frame["m3ua.protocol_data_dpc"] == ["2"]
    assert frame["m3ua.protocol_data_si"] == ["3"]
    assert frame["sccp.message_type"] == ["0x09"]  # UDT
    assert frame["sccp.called.digits"] == [HLR_GT]
    assert frame["sccp.called.ssn"] == ["6"]
    assert frame["sccp.called.gti"] == ["0x04"]
    assert frame["sccp.called.nai"] == ["0x04"]
    assert frame["sccp.calling.digits"] == [SMSC_GT]
    assert frame["sccp.calling.ssn"] == ["8"]
    assert tcap_message_type(frame) == "begin"
    assert frame["tcap.otid"] == ["00000001"]
    assert frame["tcap.dtid"] == []
    assert frame["tcap.oid"] == ["0.0.17.773.1.1.1"]
    assert frame["tcap.dialogueRequest_element"] == ["1"]
    assert frame["tcap.application_context_name"] == ["0.4.0.0.1.0.20.3"]
    assert map_components(frame) == ["invoke"]
    assert frame["gsm_old.invokeID"] == ["1"]
    assert frame["gsm_old.localValue"] == ["45"]  # sendRoutingInfoForSM
    assert frame["gsm_map.sm.msisdn"] == [isdn_address(MSISDN).hex()]
    assert frame["gsm_map.sm.serviceCentreAddress"] == [isdn_address(SMSC_GT).hex()]
    assert frame["gsm_map.sm.sm_RP_PRI"] == ["1"]
    assert frame["e164.msisdn"] == [MSISDN, SMSC_GT]  # msisdn, serviceCentreAddress


def test_end_with_sri_sm_result(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["result"]
    assert not has_malformed(frame)
    assert frame["sccp.called.digits"] == [SMSC_GT]
    assert frame["sccp.called.ssn"] == ["8"]
    assert frame["sccp.calling.digits"] == [HLR_GT]
    assert frame["sccp.calling.ssn"] == ["6"]
    assert tcap_message_type(frame) == "end"
    assert frame["tcap.dtid"] == ["00000001"]
    assert frame["tcap.otid"] == []
    assert frame["tcap.dialogueResponse_element"] == ["1"]
    assert frame["tcap.result"] == ["0"]  # accepted
    assert frame["tcap.application_context_name"] == ["0.4.0.0.1.0.20.3"]
    assert map_components(frame) == ["returnResultLast"]
    assert frame["gsm_old.localValue"] == ["45"]
    assert frame["e212.imsi"] == [IMSI]
    assert frame["e212.mcc"] == ["240"]
    assert frame["gsm_map.sm.imsi"] == [tbcd(IMSI).hex()]
    assert frame["gsm_map.sm.networkNode_Number"] == [isdn_address(NODE).hex()]
    assert frame["e164.msisdn"] == [NODE]
    assert frame["gsm_old.errorCode"] == []


def test_end_with_absent_subscriber_sm(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["error"]
    assert not has_malformed(frame)
    assert tcap_message_type(frame) == "end"
    assert map_components(frame) == ["returnError"]
    assert frame["gsm_old.invokeID"] == ["1"]
    assert frame["gsm_old.errorCode"] == ["0"]  # CHOICE index: localValue
    assert frame["gsm_old.localValue"] == ["6"]  # absentSubscriberSM
    assert frame["gsm_old.opCode"] == []
    assert frame["e212.imsi"] == []


def test_end_with_reject(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["reject"]
    assert not has_malformed(frame)
    assert tcap_message_type(frame) == "end"
    assert frame["tcap.dialogueResponse_element"] == []
    # No dialogue portion: only the SSN hands the components to GSM MAP.
    assert map_components(frame) == ["reject"]
    assert frame["gsm_old.reject_element"] == ["1"]
    assert frame["tcap.reject_element"] == []
    assert frame["gsm_old.derivable"] == ["1"]  # the rejected invoke id
    assert frame["gsm_old.problem"] == ["1"]  # CHOICE index: invoke problem
    assert frame["gsm_old.invokeProblem"] == ["2"]  # mistypedParameter


def test_u_abort_refusing_the_application_context(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["u_abort"]
    assert not has_malformed(frame)
    assert tcap_message_type(frame) == "abort"
    assert frame["tcap.dtid"] == ["00000001"]
    assert frame["tcap.reason"] == ["11"]  # u-abortCause
    assert frame["tcap.result"] == ["1"]  # reject-permanent
    assert frame["tcap.dialogue_service_user"] == ["2"]  # application-context-name-not-supported
    assert frame["tcap.application_context_name"] == ["0.4.0.0.1.0.20.3"]
    assert map_components(frame) == []


def test_p_abort(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["p_abort"]
    assert not has_malformed(frame)
    assert tcap_message_type(frame) == "abort"
    assert frame["tcap.reason"] == ["10"]  # p-abortCause
    assert frame["tcap.p_abortCause"] == ["1"]  # unrecognizedTransactionID


def test_truncated_component_is_malformed(frames: dict[str, tshark.Frame]) -> None:
    frame = frames["truncated"]
    assert has_malformed(frame)
    assert frame["_ws.malformed"]
    assert tcap_message_type(frame) == "begin"


def test_has_malformed_reads_error_severity_alone() -> None:
    assert has_malformed({"_ws.expert.severity": ["8388608"]})
    assert not has_malformed({"_ws.expert.severity": ["6291456"]})  # a warning
    assert not has_malformed({"_ws.malformed": [], "_ws.expert.severity": []})


def test_hexdump_restarts_offsets_per_message() -> None:
    text = tshark.hexdump([bytes(range(17)), b"\x01"])
    assert text.splitlines() == [
        "000000 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
        "000010 10",
        "",
        "000000 01",
        "",
    ]


def test_no_messages_no_run() -> None:
    assert decode_m3ua([]) == []


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(TsharkError, match="aren't valid"):
        decode_m3ua([to_hlr(sri_sm_begin())], fields=["no.such_field"])


def test_missing_tshark_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TsharkError, match="not installed"):
        decode_m3ua([to_hlr(sri_sm_begin())])
