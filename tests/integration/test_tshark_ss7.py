"""tshark decodes every SS7 message numlookup sends and hlr-sim answers, as we do.

Each message is made by the project's own code (numlookup.ss7.gateway for what the
SMS gateway sends, numlookup.hlrsim.hlr.Hlr with the demo subscriber table for the
HLR's answers), wrapped in M3UA DATA and decoded by tshark in a single run (see
tests/support/tshark.py). For every message two checks are made:

- tshark's view of the fields that matter (M3UA routing label, SCCP type and
  parties, TCAP transaction ids and dialogue, the MAP components and the SRI-SM
  values) equals what our own decoders read from the same bytes, and no dissector
  flags it malformed;
- the values are the ones the demo table and the standards call for (IMSI,
  networkNode-Number, MAP error code, opcode 45, application context names).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import numlookup
from numlookup.hlrsim import subscribers
from numlookup.hlrsim.hlr import Hlr
from numlookup.ss7 import gateway, gsm_map, m3ua, sccp, tcap
from tests.support import tshark
from tests.support.tshark import Frame, decode_m3ua, has_malformed, tcap_message_type

pytestmark = pytest.mark.integration

DEMO_TABLE = Path(numlookup.__file__).parent / "data" / "demo" / "hlr-subscribers.csv"
LOCAL_GT = "46700000001"  # our SMS-GMSC GT: calling party and serviceCentreAddress
HLR_GT = "46708999999"  # the simulator's GT (the `numlookup hlr-sim --gt` default)
OUR_PC, HLR_PC = 1, 2
NETWORK_INDICATOR = 0  # international (Q.704 §14.2)
ROUTING_CONTEXT = 1
SLS = 5

V3_NAME = "0.4.0.0.1.0.20.3"  # shortMsgGatewayContext-v3 (TS 29.002 §17.3.3)
V2_NAME = "0.4.0.0.1.0.20.2"
DIALOGUE_AS_ID = "0.0.17.773.1.1.1"

OK_MSISDN = "46708100100"  # demo rule 4670810: ok
OK_IMSI = "240080000000100"  # 240080000000000 ending in the MSISDN's own digits
OK_NODE = "46708999001"
V2_MSISDN = "358401234567"  # demo rule 3584: v2-only
V2_IMSI = "244910001234567"
V2_NODE = "358405999001"

# Each MAP error behaviour of the demo table: its number and TS 29.002 §17.6.6 code.
ERROR_CASES: dict[str, tuple[str, int]] = {
    "unknown": ("46708100404", 1),  # unknownSubscriber
    "absent": ("46708100006", 6),  # absentSubscriberSM
    "absent-subscriber": ("46708100027", 27),  # absentSubscriber
    "teleservice-not-provisioned": ("46708100011", 11),
    "barred": ("46708100013", 13),  # callBarred
    "facility-not-supported": ("46708100021", 21),
    "system-failure": ("46708100034", 34),
    "data-missing": ("46708100035", 35),
    "unexpected-data-value": ("46708100036", 36),
}
TCAP_ABORT_MSISDN = "46708100901"
REJECT_MSISDN = "46708100902"

# Q.713 §3.4: the SCCP parties, as numlookup and the simulator write them.
OUR_ADDRESS = sccp.SccpAddress(LOCAL_GT, sccp.SSN_MSC)
HLR_ADDRESS = sccp.SccpAddress(HLR_GT, sccp.SSN_HLR)

# The fields compared between tshark and our decoders (absent = empty list).
COMPARED: tuple[str, ...] = (
    "m3ua.message_class",
    "m3ua.message_type",
    "m3ua.routing_context",
    "m3ua.protocol_data_opc",
    "m3ua.protocol_data_dpc",
    "m3ua.protocol_data_si",
    "m3ua.protocol_data_ni",
    "sccp.message_type",
    "sccp.class",
    "sccp.handling",
    "sccp.hops",
    "sccp.called.digits",
    "sccp.called.ssn",
    "sccp.called.gti",
    "sccp.called.nai",
    "sccp.calling.digits",
    "sccp.calling.ssn",
    "sccp.calling.gti",
    "sccp.calling.nai",
    "tcap.otid",
    "tcap.dtid",
    "tcap.oid",
    "tcap.application_context_name",
    "tcap.dialogueRequest_element",
    "tcap.dialogueResponse_element",
    "tcap.dialogueAbort_element",
    "tcap.result",
    "tcap.dialogue_service_user",
    "tcap.abort_source",
    "tcap.reason",
    "tcap.p_abortCause",
    "gsm_map.old.Component",
    "gsm_old.invokeID",
    "gsm_old.localValue",
    "gsm_old.derivable",
    "gsm_old.problem",
    "gsm_old.invokeProblem",
    "gsm_map.sm.msisdn",
    "gsm_map.sm.sm_RP_PRI",
    "gsm_map.sm.serviceCentreAddress",
    "gsm_map.sm.imsi",
    "gsm_map.sm.networkNode_Number",
    "gsm_old.imsi",
    "gsm_old.msc_Number",
    "e164.msisdn",
    "e212.imsi",
)
FIELDS: tuple[str, ...] = (
    *tshark.FIELDS,
    "sccp.handling",
    "sccp.hops",
    # Under shortMsgGatewayContext-v2 tshark reads the result with the MAP v2 types:
    # RoutingInfoForSM-Res imsi, LocationInfoWithLMSI locationInfo msc-Number [1].
    "gsm_old.imsi",
    "gsm_old.msc_Number",
)

KINDS: tuple[str, ...] = (
    "begin_v3",
    "begin_v2",
    "ok",
    "ok_v2",
    *(f"error:{behaviour}" for behaviour in ERROR_CASES),
    "v2_refusal",
    "tcap_abort",
    "reject",
    "p_abort",
    "refusal",
    "xudt_begin",
    "xudt_answer",
    "xudt_long",
)


# ---------------------------------------------------------------- the messages


def tid(n: int) -> bytes:
    return n.to_bytes(4, "big")


def to_hlr(sccp_bytes: bytes) -> bytes:
    """M3UA DATA (RFC 4666 §3.3.1) from us to the HLR side, SI 3 = SCCP."""
    data = m3ua.ProtocolData(OUR_PC, HLR_PC, 3, NETWORK_INDICATOR, 0, SLS, sccp_bytes)
    return m3ua.encode(m3ua.Data(data, routing_context=ROUTING_CONTEXT))


def from_hlr(sccp_bytes: bytes) -> bytes:
    data = m3ua.ProtocolData(HLR_PC, OUR_PC, 3, NETWORK_INDICATOR, 0, SLS, sccp_bytes)
    return m3ua.encode(m3ua.Data(data, routing_context=ROUTING_CONTEXT))


def hlr_answer(hlr: Hlr, request: bytes) -> bytes:
    replies = hlr.handle(request)
    assert len(replies) == 1, replies
    assert replies[0].delay_ms == 0
    return replies[0].data


def begin_of(request: bytes) -> bytes:
    """The TCAP Begin inside a gateway request."""
    return sccp.decode(request).data


def long_begin(otid: bytes, msisdns: list[str]) -> bytes:
    """A Begin with one SRI-SM invoke per number: more data than fits in a UDT."""
    invokes = tuple(
        tcap.Invoke(n, gsm_map.SEND_ROUTING_INFO_FOR_SM, gsm_map.encode_sri_sm_arg(m, LOCAL_GT))
        for n, m in enumerate(msisdns, start=1)
    )
    return tcap.encode(tcap.Begin(otid, tcap.AARQ(gateway.V3), invokes))


# Numbers of the demo rule 4670810 (ok), all 15 digits: six invokes need 242 octets.
LONG_MSISDNS = [f"4670810010000{n:02d}" for n in range(6)]


def build_messages() -> dict[str, bytes]:
    """Every message kind, by name, as M3UA DATA."""
    hlr = Hlr(subscribers.load(DEMO_TABLE), HLR_GT)
    messages: dict[str, bytes] = {}
    n = 0x00010000

    def request(msisdn: str, context: tuple[int, ...] = gateway.V3) -> bytes:
        nonlocal n
        n += 1
        return gateway.request(tid(n), msisdn, LOCAL_GT, context)

    begin_v3 = gateway.request(tid(0xA1B2C3D4), OK_MSISDN, LOCAL_GT, gateway.V3)
    begin_v2 = gateway.request(tid(0x00000002), V2_MSISDN, LOCAL_GT, gateway.V2)
    messages["begin_v3"] = to_hlr(begin_v3)
    messages["begin_v2"] = to_hlr(begin_v2)
    messages["ok"] = from_hlr(hlr_answer(hlr, begin_v3))
    messages["ok_v2"] = from_hlr(hlr_answer(hlr, begin_v2))
    for behaviour, (msisdn, _) in ERROR_CASES.items():
        messages[f"error:{behaviour}"] = from_hlr(hlr_answer(hlr, request(msisdn)))
    messages["v2_refusal"] = from_hlr(hlr_answer(hlr, request(V2_MSISDN, gateway.V3)))
    messages["tcap_abort"] = from_hlr(hlr_answer(hlr, request(TCAP_ABORT_MSISDN)))
    messages["reject"] = from_hlr(hlr_answer(hlr, request(REJECT_MSISDN)))

    # A Continue for a dialogue we never had: the gateway answers with a P-Abort.
    stray = tcap.Continue(tid(0x0BADCAFE), tid(0x7FFFFFFF), tcap.AARE(gateway.V3))
    stray_udt = sccp.encode_unitdata(OUR_ADDRESS, HLR_ADDRESS, tcap.encode(stray))
    seen = gateway.answer(stray_udt)
    assert seen.peer_tid is not None and seen.abort_to is not None
    messages["p_abort"] = to_hlr(gateway.p_abort(seen.peer_tid, seen.abort_to, seen.abort_from))

    # A Begin toward us: refused at once with a TC-U-ABORT.
    incoming = sccp.encode_unitdata(OUR_ADDRESS, HLR_ADDRESS, begin_of(request(OK_MSISDN)))
    refusal = gateway.answer(incoming).refusal
    assert refusal is not None
    messages["refusal"] = to_hlr(refusal)

    # XUDT (Q.713 §4.18): the gateway's Begin in an XUDT, which the HLR answers too,
    # and one whose data does not fit a UDT, so that encode_unitdata picks XUDT.
    xudt = sccp.encode(
        sccp.ExtendedUnitdata(
            sccp.SccpAddress(OK_MSISDN, sccp.SSN_HLR),
            OUR_ADDRESS,
            begin_of(request(OK_MSISDN)),
            return_on_error=True,
        )
    )
    messages["xudt_begin"] = to_hlr(xudt)
    messages["xudt_answer"] = from_hlr(hlr_answer(hlr, xudt))
    data = long_begin(tid(0x00000099), LONG_MSISDNS)
    messages["xudt_long"] = to_hlr(
        sccp.encode_unitdata(
            sccp.SccpAddress(OK_MSISDN, sccp.SSN_HLR), OUR_ADDRESS, data, return_on_error=True
        )
    )
    return messages


@pytest.fixture(scope="module")
def messages() -> dict[str, bytes]:
    return build_messages()


@pytest.fixture(scope="module")
def frames(messages: dict[str, bytes]) -> dict[str, Frame]:
    """Every message decoded in one tshark run."""
    names = list(messages)
    decoded = decode_m3ua([messages[name] for name in names], FIELDS)
    return dict(zip(names, decoded, strict=True))


# ---------------------------------------------------------------- what we read


def _hex(value: int) -> str:
    return f"0x{value:02x}"


def _oid(value: tuple[int, ...]) -> str:
    return ".".join(map(str, value))


def _isdn(digits: str) -> str:
    """ISDN-AddressString as tshark shows the raw field: 0x91, then TBCD."""
    return gsm_map.encode_address(digits).hex()


def _party(prefix: str, address: sccp.SccpAddress) -> Frame:
    return {
        f"{prefix}.digits": [address.digits] if address.digits else [],
        f"{prefix}.ssn": [str(address.ssn)] if address.ssn is not None else [],
        f"{prefix}.gti": [_hex(address.global_title_indicator)] if address.digits else [],
        f"{prefix}.nai": [_hex(address.nature_of_address)] if address.digits else [],
    }


def _dialogue(dialogue: tcap.Dialogue | None) -> Frame:
    if dialogue is None:
        return {}
    out: Frame = {"tcap.oid": [DIALOGUE_AS_ID]}
    if isinstance(dialogue, tcap.ABRT):
        out["tcap.dialogueAbort_element"] = ["1"]
        out["tcap.abort_source"] = [str(dialogue.abort_source)]
        return out
    out["tcap.application_context_name"] = [_oid(dialogue.application_context_name)]
    if isinstance(dialogue, tcap.AARQ):
        out["tcap.dialogueRequest_element"] = ["1"]
        return out
    assert dialogue.diagnostic_source == tcap.DiagnosticSource.DIALOGUE_SERVICE_USER
    out["tcap.dialogueResponse_element"] = ["1"]
    out["tcap.result"] = [str(dialogue.result)]
    out["tcap.dialogue_service_user"] = [str(dialogue.diagnostic)]
    return out


def _components(components: tuple[tcap.Component, ...], v2: bool) -> Frame:
    out: Frame = {}
    result_map = "gsm_old" if v2 else "gsm_map.sm"
    node_field = "gsm_old.msc_Number" if v2 else "gsm_map.sm.networkNode_Number"

    def add(field: str, value: object) -> None:
        out.setdefault(field, []).append(str(value))

    for component in components:
        if isinstance(component, tcap.Invoke):
            add("gsm_map.old.Component", 1)
            add("gsm_old.invokeID", component.invoke_id)
            add("gsm_old.localValue", component.opcode)
            if component.opcode == gsm_map.SEND_ROUTING_INFO_FOR_SM:
                arg = gsm_map.decode_sri_sm_arg(component.parameter or b"")
                add("gsm_map.sm.msisdn", _isdn(arg.msisdn))
                add("gsm_map.sm.sm_RP_PRI", int(arg.sm_rp_pri))
                add("gsm_map.sm.serviceCentreAddress", _isdn(arg.service_centre_address))
                add("e164.msisdn", arg.msisdn)
                add("e164.msisdn", arg.service_centre_address)
        elif isinstance(component, tcap.ReturnResultLast):
            add("gsm_map.old.Component", 2)
            add("gsm_old.invokeID", component.invoke_id)
            add("gsm_old.localValue", component.opcode)
            res = gsm_map.decode_sri_sm_res(component.parameter or b"")
            add(f"{result_map}.imsi", gsm_map.encode_imsi(res.imsi).hex())
            add("e212.imsi", res.imsi)
            if res.network_node_number is not None:
                add(node_field, _isdn(res.network_node_number))
                add("e164.msisdn", res.network_node_number)
        elif isinstance(component, tcap.ReturnError):
            add("gsm_map.old.Component", 3)
            add("gsm_old.invokeID", component.invoke_id)
            add("gsm_old.localValue", component.error_code)
        else:
            add("gsm_map.old.Component", 4)
            assert component.invoke_id is not None
            add("gsm_old.derivable", component.invoke_id)
            add("gsm_old.problem", component.problem_type)
            assert component.problem_type == tcap.ProblemType.INVOKE
            add("gsm_old.invokeProblem", component.problem_code)
    return out


def ours(message: bytes) -> Frame:
    """What our own decoders read from one M3UA DATA, as tshark would list it."""
    data = m3ua.decode(message)
    assert isinstance(data, m3ua.Data)
    pd = data.protocol_data
    out: Frame = {
        "m3ua.message_class": ["1"],  # transfer
        "m3ua.message_type": ["1"],  # DATA
        "m3ua.routing_context": [str(data.routing_context)],
        "m3ua.protocol_data_opc": [str(pd.opc)],
        "m3ua.protocol_data_dpc": [str(pd.dpc)],
        "m3ua.protocol_data_si": [str(pd.si)],
        "m3ua.protocol_data_ni": [str(pd.ni)],
        "sccp.message_type": [_hex(pd.data[0])],
    }
    unit = sccp.decode(pd.data)
    assert isinstance(unit, sccp.Unitdata | sccp.ExtendedUnitdata)
    out["sccp.class"] = [_hex(unit.protocol_class)]
    out["sccp.handling"] = [_hex(8 if unit.return_on_error else 0)]  # Q.713 §3.6 bits 8-5
    if isinstance(unit, sccp.ExtendedUnitdata):
        out["sccp.hops"] = [_hex(unit.hop_counter)]
    out |= _party("sccp.called", unit.called)
    out |= _party("sccp.calling", unit.calling)
    tc = tcap.decode(unit.data)
    if isinstance(tc, tcap.Begin | tcap.Continue):
        out["tcap.otid"] = [tc.otid.hex()]
    if not isinstance(tc, tcap.Begin):
        out["tcap.dtid"] = [tc.dtid.hex()]
    if isinstance(tc, tcap.Abort):
        if tc.p_abort_cause is not None:
            out["tcap.reason"] = ["10"]  # p-abortCause [APPLICATION 10]
            out["tcap.p_abortCause"] = [str(tc.p_abort_cause)]
        elif tc.dialogue is not None:
            out["tcap.reason"] = ["11"]  # u-abortCause: the dialogue portion [APPLICATION 11]
        out |= _dialogue(tc.dialogue)
    else:
        out |= _dialogue(tc.dialogue)
        dialogue = tc.dialogue
        v2 = dialogue is not None and dialogue.application_context_name == gateway.V2
        out |= _components(tc.components, v2)
    return {field: out.get(field, []) for field in COMPARED}


# ---------------------------------------------------------------- tests


def test_every_kind_is_present(messages: dict[str, bytes], frames: dict[str, Frame]) -> None:
    assert list(frames) == list(messages) == list(KINDS)
    assert [frame["frame.number"] for frame in frames.values()] == [
        [str(n)] for n in range(1, len(KINDS) + 1)
    ]


@pytest.mark.parametrize("name", KINDS)
def test_tshark_reads_what_we_read(
    name: str, messages: dict[str, bytes], frames: dict[str, Frame]
) -> None:
    frame = frames[name]
    assert not has_malformed(frame), (frame["_ws.malformed"], frame["_ws.expert.message"])
    assert {field: frame[field] for field in COMPARED} == ours(messages[name])


def _sccp_route(frame: Frame, called: sccp.SccpAddress, calling: sccp.SccpAddress) -> None:
    assert frame["sccp.called.digits"] == [called.digits]
    assert frame["sccp.called.ssn"] == [str(called.ssn)]
    assert frame["sccp.calling.digits"] == [calling.digits]
    assert frame["sccp.calling.ssn"] == [str(calling.ssn)]
    assert frame["sccp.called.gti"] == frame["sccp.calling.gti"] == ["0x04"]
    assert frame["sccp.called.nai"] == frame["sccp.calling.nai"] == ["0x04"]  # international


def _request_frame(frame: Frame, msisdn: str, otid: str, context: str) -> None:
    assert frame["m3ua.protocol_data_opc"] == [str(OUR_PC)]
    assert frame["m3ua.protocol_data_dpc"] == [str(HLR_PC)]
    assert frame["m3ua.protocol_data_si"] == ["3"]
    assert frame["m3ua.routing_context"] == [str(ROUTING_CONTEXT)]
    assert frame["sccp.message_type"] == ["0x09"]  # UDT
    assert frame["sccp.handling"] == ["0x08"]  # return message on error
    _sccp_route(frame, sccp.SccpAddress(msisdn, 6), OUR_ADDRESS)
    assert tcap_message_type(frame) == "begin"
    assert frame["tcap.otid"] == [otid]
    assert frame["tcap.dtid"] == []
    assert frame["tcap.dialogueRequest_element"] == ["1"]
    assert frame["tcap.application_context_name"] == [context]
    assert tshark.map_components(frame) == ["invoke"]
    assert frame["gsm_old.invokeID"] == ["1"]
    assert frame["gsm_old.localValue"] == ["45"]  # sendRoutingInfoForSM
    assert frame["gsm_map.sm.sm_RP_PRI"] == ["1"]
    assert frame["e164.msisdn"] == [msisdn, LOCAL_GT]  # msisdn, serviceCentreAddress


def test_begin_v3(frames: dict[str, Frame]) -> None:
    _request_frame(frames["begin_v3"], OK_MSISDN, "a1b2c3d4", V3_NAME)


def test_begin_v2(frames: dict[str, Frame]) -> None:
    _request_frame(frames["begin_v2"], V2_MSISDN, "00000002", V2_NAME)


def _answer_frame(frame: Frame, kind: str) -> None:
    assert frame["m3ua.protocol_data_opc"] == [str(HLR_PC)]
    assert frame["m3ua.protocol_data_dpc"] == [str(OUR_PC)]
    assert frame["sccp.message_type"] == ["0x09"]  # UDT
    _sccp_route(frame, OUR_ADDRESS, HLR_ADDRESS)
    assert tcap_message_type(frame) == kind
    assert frame["tcap.otid"] == []


@pytest.mark.parametrize(
    ("name", "dtid", "context", "imsi", "node"),
    [
        ("ok", "a1b2c3d4", V3_NAME, OK_IMSI, OK_NODE),
        ("ok_v2", "00000002", V2_NAME, V2_IMSI, V2_NODE),
    ],
)
def test_end_with_routing_info(
    frames: dict[str, Frame], name: str, dtid: str, context: str, imsi: str, node: str
) -> None:
    frame = frames[name]
    _answer_frame(frame, "end")
    assert frame["tcap.dtid"] == [dtid]
    assert frame["tcap.dialogueResponse_element"] == ["1"]
    assert frame["tcap.result"] == ["0"]  # accepted
    assert frame["tcap.application_context_name"] == [context]
    assert tshark.map_components(frame) == ["returnResultLast"]
    assert frame["gsm_old.invokeID"] == ["1"]
    assert frame["gsm_old.localValue"] == ["45"]
    assert frame["e212.imsi"] == [imsi]
    assert frame["e164.msisdn"] == [node]  # networkNode-Number
    raw_node = "gsm_old.msc_Number" if context == V2_NAME else "gsm_map.sm.networkNode_Number"
    assert frame[raw_node] == [_isdn(node)]


@pytest.mark.parametrize("behaviour", list(ERROR_CASES))
def test_end_with_map_error(frames: dict[str, Frame], behaviour: str) -> None:
    msisdn, code = ERROR_CASES[behaviour]
    table = subscribers.load(DEMO_TABLE)
    assert table.rule_for(msisdn).behaviour == behaviour
    frame = frames[f"error:{behaviour}"]
    _answer_frame(frame, "end")
    assert frame["tcap.result"] == ["0"]  # the dialogue is accepted; the operation fails
    assert frame["tcap.application_context_name"] == [V3_NAME]
    assert tshark.map_components(frame) == ["returnError"]
    assert frame["gsm_old.invokeID"] == ["1"]
    assert frame["gsm_old.errorCode"] == ["0"]  # CHOICE index: localValue
    assert frame["gsm_old.localValue"] == [str(code)]
    assert frame["e212.imsi"] == []


def test_v2_only_refuses_v3(frames: dict[str, Frame]) -> None:
    frame = frames["v2_refusal"]
    _answer_frame(frame, "abort")
    assert frame["tcap.reason"] == ["11"]  # u-abortCause
    assert frame["tcap.dialogueResponse_element"] == ["1"]  # an AARE
    assert frame["tcap.result"] == ["1"]  # reject-permanent
    assert frame["tcap.dialogue_service_user"] == ["2"]  # application-context-name-not-supported
    assert frame["tcap.application_context_name"] == [V2_NAME]  # the one it does support
    assert tshark.map_components(frame) == []


def test_tcap_abort(frames: dict[str, Frame]) -> None:
    frame = frames["tcap_abort"]
    _answer_frame(frame, "abort")
    assert frame["tcap.reason"] == ["11"]
    assert frame["tcap.dialogueAbort_element"] == ["1"]  # an ABRT
    assert frame["tcap.abort_source"] == ["0"]  # dialogue-service-user
    assert frame["tcap.p_abortCause"] == []


def test_reject(frames: dict[str, Frame]) -> None:
    frame = frames["reject"]
    _answer_frame(frame, "end")
    assert tshark.map_components(frame) == ["reject"]
    assert frame["gsm_old.derivable"] == ["1"]  # the rejected invoke id
    assert frame["gsm_old.problem"] == ["1"]  # invoke problem
    assert frame["gsm_old.invokeProblem"] == ["2"]  # mistypedParameter


def test_p_abort_for_an_unknown_continue(frames: dict[str, Frame]) -> None:
    frame = frames["p_abort"]
    assert frame["m3ua.protocol_data_opc"] == [str(OUR_PC)]
    _sccp_route(frame, HLR_ADDRESS, OUR_ADDRESS)
    assert tcap_message_type(frame) == "abort"
    assert frame["tcap.dtid"] == ["0badcafe"]  # the peer's otid
    assert frame["tcap.reason"] == ["10"]  # p-abortCause
    assert frame["tcap.p_abortCause"] == ["1"]  # unrecognizedTransactionID


def test_refusal_of_a_begin(frames: dict[str, Frame]) -> None:
    frame = frames["refusal"]
    _sccp_route(frame, HLR_ADDRESS, OUR_ADDRESS)
    assert tcap_message_type(frame) == "abort"
    assert frame["tcap.reason"] == ["11"]
    assert frame["tcap.dialogueAbort_element"] == ["1"]


def test_xudt_carries_the_begin_and_is_answered(frames: dict[str, Frame]) -> None:
    frame = frames["xudt_begin"]
    assert frame["sccp.message_type"] == ["0x11"]  # XUDT
    assert frame["sccp.hops"] == ["0x0f"]
    assert frame["sccp.handling"] == ["0x08"]
    _sccp_route(frame, sccp.SccpAddress(OK_MSISDN, 6), OUR_ADDRESS)
    assert tcap_message_type(frame) == "begin"
    assert frame["tcap.application_context_name"] == [V3_NAME]
    assert frame["gsm_old.localValue"] == ["45"]
    assert frame["e164.msisdn"] == [OK_MSISDN, LOCAL_GT]
    answer = frames["xudt_answer"]
    _answer_frame(answer, "end")
    assert answer["tcap.dtid"] == frame["tcap.otid"]
    assert answer["e212.imsi"] == [OK_IMSI]
    assert answer["e164.msisdn"] == [OK_NODE]


def test_data_too_long_for_a_udt_goes_as_xudt(
    messages: dict[str, bytes], frames: dict[str, Frame]
) -> None:
    sent = m3ua.decode(messages["xudt_long"])
    assert isinstance(sent, m3ua.Data)
    unit = sccp.decode(sent.protocol_data.data)
    assert isinstance(unit, sccp.ExtendedUnitdata)
    # Q.713 §4.10: the same message as a UDT would pass the 268-octet limit.
    udt = sccp.encode(sccp.Unitdata(unit.called, unit.calling, unit.data))
    assert len(udt) > sccp.MAX_UDT_OCTETS
    frame = frames["xudt_long"]
    assert frame["sccp.message_type"] == ["0x11"]
    assert frame["sccp.hops"] == ["0x0f"]
    assert tcap_message_type(frame) == "begin"
    assert tshark.map_components(frame) == ["invoke"] * len(LONG_MSISDNS)
    assert frame["gsm_old.invokeID"] == [str(n) for n in range(1, len(LONG_MSISDNS) + 1)]
    assert frame["gsm_old.localValue"] == ["45"] * len(LONG_MSISDNS)
    assert frame["e164.msisdn"] == [d for m in LONG_MSISDNS for d in (m, LOCAL_GT)]
