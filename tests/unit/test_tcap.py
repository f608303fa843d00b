"""Q.773 TCAP codec: vectors, pycrate as the oracle both ways, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrate_asn1dir import TCAP_MAPv2v3

from numlookup.errors import CodecError
from numlookup.ss7 import gsm_map, tcap
from numlookup.ss7.tcap import AARE, AARQ, ABRT, Abort, Begin, Continue, End

VECTORS = Path(__file__).parent.parent / "vectors" / "tcap"
VECTOR_NAMES = sorted(p.stem for p in VECTORS.glob("*.hex"))
V3 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3
V2 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V2
SRI_SM = gsm_map.SEND_ROUTING_INFO_FOR_SM

# pycrate (test oracle only: it keeps module-level state and is slow).
PDU = TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message
SRI_SM_ARG = TCAP_MAPv2v3.MAP_SM_DataTypes.RoutingInfoForSM_Arg
SRI_SM_RES = TCAP_MAPv2v3.MAP_SM_DataTypes.RoutingInfoForSM_Res
PROBLEMS = ("general", "invoke", "returnResult", "returnError")


def vector(name: str) -> bytes:
    return bytes.fromhex((VECTORS / f"{name}.hex").read_text().strip())


def pycrate_decode(data: bytes) -> Any:
    PDU.from_ber(data)
    return PDU.get_val()


def pycrate_encode(value: Any) -> bytes:
    PDU.set_val(value)
    return bytes(PDU.to_ber())


def _map_value(type_: Any, module: str, name: str, data: bytes) -> Any:
    type_.from_ber(data)
    return ((module, name), type_.get_val())


def to_pycrate(message: tcap.Message) -> Any:
    """Our message as a pycrate TCAP_MAP_Message value (no user-information)."""
    value: dict[str, Any] = {}
    if isinstance(message, (Begin, Continue)):
        value["otid"] = message.otid
    if not isinstance(message, Begin):
        value["dtid"] = message.dtid
    if isinstance(message, Abort):
        if message.p_abort_cause is not None:
            value["reason"] = ("p-abortCause", message.p_abort_cause)
        elif message.dialogue is not None:
            value["reason"] = ("u-abortCause", _pycrate_dialogue(message.dialogue))
        return ("abort", value)
    if message.dialogue is not None:
        value["dialoguePortion"] = _pycrate_dialogue(message.dialogue)
    if message.components:
        value["components"] = [_pycrate_component(c) for c in message.components]
    kind = {Begin: "begin", Continue: "continue", End: "end"}[type(message)]
    return (kind, value)


def _pycrate_dialogue(dialogue: tcap.Dialogue) -> dict[str, Any]:
    assert dialogue.user_information is None
    pdu: tuple[str, dict[str, Any]]
    if isinstance(dialogue, ABRT):
        pdu = ("dialogueAbort", {"abort-source": dialogue.abort_source})
    elif isinstance(dialogue, AARQ):
        request = {
            "protocol-version": (1, 1),
            "application-context-name": dialogue.application_context_name,
        }
        pdu = ("dialogueRequest", request)
    else:
        source = ("dialogue-service-user", "dialogue-service-provider")[
            dialogue.diagnostic_source - 1
        ]
        response = {
            "protocol-version": (1, 1),
            "application-context-name": dialogue.application_context_name,
            "result": dialogue.result,
            "result-source-diagnostic": (source, dialogue.diagnostic),
        }
        pdu = ("dialogueResponse", response)
    return {
        "direct-reference": tcap.DIALOGUE_AS_ID,
        "encoding": ("single-ASN1-type", ("DialoguePDU", pdu)),
    }


def _pycrate_component(component: tcap.Component) -> Any:
    if isinstance(component, tcap.Reject):
        invoke_id = (
            ("absent", 0) if component.invoke_id is None else ("present", component.invoke_id)
        )
        problem = (PROBLEMS[component.problem_type], component.problem_code)
        return ("basicROS", ("reject", {"invokeId": invoke_id, "problem": problem}))
    value: dict[str, Any] = {"invokeId": ("present", component.invoke_id)}
    if isinstance(component, tcap.Invoke):
        if component.linked_id is not None:
            value["linkedId"] = ("present", component.linked_id)
        value["opcode"] = ("local", component.opcode)
        if component.parameter is not None:
            arg = component.parameter
            value["argument"] = _map_value(
                SRI_SM_ARG, "MAP-SM-DataTypes", "RoutingInfoForSM-Arg", arg
            )
        return ("basicROS", ("invoke", value))
    if isinstance(component, tcap.ReturnError):
        value["errcode"] = ("local", component.error_code)
        assert component.parameter is None
        return ("basicROS", ("returnError", value))
    if component.opcode is not None:
        result: dict[str, Any] = {"opcode": ("local", component.opcode)}
        if component.parameter is not None:
            res = component.parameter
            result["result"] = _map_value(
                SRI_SM_RES, "MAP-SM-DataTypes", "RoutingInfoForSM-Res", res
            )
        value["result"] = result
    return ("basicROS", ("returnResult", value))


# --- Vectors -----------------------------------------------------------------------


def test_every_vector_is_described() -> None:
    readme = (VECTORS / "README.md").read_text()
    assert len(VECTOR_NAMES) >= 18
    for name in VECTOR_NAMES:
        assert f"`{name}.hex`" in readme


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_round_trip(name: str) -> None:
    data = vector(name)
    message = tcap.decode(data)
    assert tcap.encode(message) == data


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_one_byte_at_a_time(name: str) -> None:
    data = vector(name)
    for size in range(len(data)):
        with pytest.raises(CodecError):
            tcap.decode(data[:size])


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_fields_match_pycrate(name: str) -> None:
    data = vector(name)
    message = tcap.decode(data)
    if "open_info" in name:
        assert isinstance(message, Begin) and message.dialogue is not None
        # pycrate's MAP-OpenInfo, re-encoded, is our raw user-information.
        user = pycrate_decode(data)[1]["dialoguePortion"]["encoding"][1][1][1]["user-information"]
        assert message.dialogue.user_information is not None
        assert b"\x28\x1f\x06\x07\x04\x00\x00\x01\x01\x01\x01" in message.dialogue.user_information
        assert user[0]["direct-reference"] == (0, 4, 0, 0, 1, 1, 1, 1)
        message = Begin(
            message.otid, AARQ(message.dialogue.application_context_name), message.components
        )
        data = tcap.encode(message)
    if "error" in name:
        assert isinstance(message, End)
        component = message.components[0]  # pycrate decodes the parameter; compare presence
        assert isinstance(component, tcap.ReturnError)
        expected_param = pycrate_decode(data)[1]["components"][0][1][1].get("parameter")
        assert (component.parameter is None) == (expected_param is None)
        message = End(message.dtid, message.dialogue, (tcap.ReturnError(1, component.error_code),))
        data = tcap.encode(message)
    assert pycrate_decode(data) == to_pycrate(message)


def test_begin_v3_vector_is_what_we_send() -> None:
    argument = gsm_map.encode_sri_sm_arg("46708100100", "46700000099")
    invoke = tcap.Invoke(1, SRI_SM, argument)
    assert tcap.encode(Begin(bytes.fromhex("0a0b0c0d"), AARQ(V3), (invoke,))) == vector("begin_v3")
    assert tcap.encode(Begin(bytes.fromhex("0a0b0c0d"), AARQ(V2), (invoke,))) == vector("begin_v2")


def test_end_result_vector() -> None:
    message = tcap.decode(vector("end_result"))
    assert isinstance(message, End)
    assert message.dtid == bytes.fromhex("0a0b0c0d")
    assert message.dialogue == AARE(V3, tcap.AssociateResult.ACCEPTED)
    (component,) = message.components
    assert isinstance(component, tcap.ReturnResultLast)
    assert (component.invoke_id, component.opcode) == (1, SRI_SM)
    assert component.parameter is not None
    result = gsm_map.decode_sri_sm_res(component.parameter)
    assert result == gsm_map.RoutingInfoForSmRes(
        "240080012345678", "46700000100", bytes.fromhex("01020304")
    )


def test_v3_refusal_vector() -> None:
    message = tcap.decode(vector("abort_v3_refused"))
    assert message == Abort(
        bytes.fromhex("0a0b0c0d"),
        None,
        AARE(
            V2,
            tcap.AssociateResult.REJECT_PERMANENT,
            tcap.ServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
            tcap.DiagnosticSource.DIALOGUE_SERVICE_USER,
        ),
    )


def test_p_abort_and_reject_vectors() -> None:
    cause = tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID
    assert tcap.decode(vector("abort_p_abort")) == Abort(bytes.fromhex("0a0b0c0d"), cause)
    reject = tcap.decode(vector("end_reject_not_derivable"))
    assert isinstance(reject, End)
    assert reject.components == (
        tcap.Reject(None, 0, tcap.GeneralProblem.BADLY_STRUCTURED_COMPONENT),
    )


# --- pycrate as the oracle, both ways ----------------------------------------------

digits = st.text("0123456789", min_size=1, max_size=15)
tids = st.binary(min_size=1, max_size=4)
ids = st.integers(-128, 127)
acns = st.sampled_from([V3, V2, (0, 4, 0, 0, 1, 0, 25, 3), (0, 4, 0, 0, 1, 0, 1, 3)])
aarqs = st.builds(AARQ, acns)
aares = st.builds(AARE, acns, st.integers(0, 1), st.integers(0, 2), st.integers(1, 2))
abrts = st.builds(ABRT, st.integers(0, 1))
invokes = st.builds(
    tcap.Invoke,
    ids,
    st.just(SRI_SM),
    st.none() | st.builds(gsm_map.encode_sri_sm_arg, digits, digits, st.booleans()),
    st.none() | ids,
)
results = st.builds(
    tcap.ReturnResultLast,
    ids,
    st.just(SRI_SM),
    st.builds(
        gsm_map.encode_sri_sm_res,
        st.text("0123456789", min_size=6, max_size=15),
        digits,
        st.none() | st.binary(min_size=4, max_size=4),
    ),
) | st.builds(tcap.ReturnResultLast, ids)
errors = st.builds(tcap.ReturnError, ids, st.sampled_from(list(gsm_map.MapError)))
rejects = st.integers(0, 3).flatmap(
    lambda kind: st.builds(tcap.Reject, st.none() | ids, st.just(kind), st.integers(0, 7))
)
components = st.lists(invokes | results | errors | rejects, max_size=3).map(tuple)
messages = (
    st.builds(Begin, tids, st.none() | aarqs, components)
    | st.builds(Continue, tids, tids, st.none() | aares, components)
    | st.builds(End, tids, st.none() | aares, components)
    | st.builds(Abort, tids, st.none() | st.integers(0, 6))
    | st.builds(Abort, tids, st.none(), aares | abrts)
)


@settings(max_examples=150, deadline=None)
@given(messages)
def test_pycrate_decodes_what_we_encode(message: tcap.Message) -> None:
    assert pycrate_decode(tcap.encode(message)) == to_pycrate(message)


@settings(max_examples=150, deadline=None)
@given(messages)
def test_we_decode_what_pycrate_encodes(message: tcap.Message) -> None:
    data = pycrate_encode(to_pycrate(message))
    assert tcap.decode(data) == message
    assert tcap.encode(message) == data


# --- Refusals ----------------------------------------------------------------------

P = tcap.PAbortCause


@pytest.mark.parametrize(
    ("hex_data", "cause", "otid", "dtid"),
    [
        ("", P.BADLY_FORMATTED_TRANSACTION_PORTION, None, None),
        ("6204480101", P.BADLY_FORMATTED_TRANSACTION_PORTION, None, None),  # truncated
        ("62034801010000", P.BADLY_FORMATTED_TRANSACTION_PORTION, None, None),  # trailing
        ("6103480107", P.UNRECOGNIZED_MESSAGE_TYPE, "07", None),  # Unidirectional
        ("6803480107", P.UNRECOGNIZED_MESSAGE_TYPE, "07", None),
        ("6000", P.UNRECOGNIZED_MESSAGE_TYPE, None, None),
        ("6200", P.INCORRECT_TRANSACTION_PORTION, None, None),  # no otid
        ("6207480501020304 05", P.INCORRECT_TRANSACTION_PORTION, None, None),
        ("62024800", P.INCORRECT_TRANSACTION_PORTION, None, None),  # empty otid
        ("6203490101", P.INCORRECT_TRANSACTION_PORTION, None, None),  # dtid in a Begin
        ("6400", P.INCORRECT_TRANSACTION_PORTION, None, None),
        ("6503480101", P.INCORRECT_TRANSACTION_PORTION, "01", None),  # Continue, no dtid
        ("65054801014900", P.INCORRECT_TRANSACTION_PORTION, "01", None),  # empty dtid
        ("6206480101 4a0100", P.BADLY_FORMATTED_TRANSACTION_PORTION, "01", None),
        ("6707490102 4a020001", P.BADLY_FORMATTED_TRANSACTION_PORTION, None, "02"),
        ("6706490102 4a0180", P.BADLY_FORMATTED_TRANSACTION_PORTION, None, "02"),
        (
            "6709490102 4a0101 4a0101",
            P.BADLY_FORMATTED_TRANSACTION_PORTION,
            None,
            "02",
        ),
        (
            "6707490102 6c02 0500",
            P.BADLY_FORMATTED_TRANSACTION_PORTION,
            None,
            "02",
        ),
        # faults past the transaction portion: no P-Abort cause, but the ids
        ("6207480101 6c020500", None, "01", None),  # not a component
        ("6407490102 6c02a100", None, None, "02"),  # empty invoke
        ("6209480101 6b04 28020500", None, "01", None),  # not dialogue-as-id
    ],
)
def test_refused_messages(
    hex_data: str, cause: int | None, otid: str | None, dtid: str | None
) -> None:
    with pytest.raises(tcap.TcapDecodeError) as info:
        tcap.decode(bytes.fromhex(hex_data))
    error = info.value
    assert isinstance(error, CodecError) and error.layer == "tcap"
    assert error.p_abort_cause == cause
    assert error.otid == (None if otid is None else bytes.fromhex(otid))
    assert error.dtid == (None if dtid is None else bytes.fromhex(dtid))


def _dialogue_portion(pdu: bytes, external_extra: bytes = b"") -> bytes:
    """A dialogue portion (tag 6b, length, then an EXTERNAL) around the PDU `pdu`."""
    external = tcap.DIALOGUE_AS_ID_TLV + external_extra + b"\xa0" + bytes((len(pdu),)) + pdu
    return b"\x6b" + bytes((len(external) + 2,)) + b"\x28" + bytes((len(external),)) + external


@pytest.mark.parametrize(
    ("message", "portion"),
    [
        ("begin", AARE(V3)),
        ("begin", ABRT()),
        ("end", AARQ(V3)),
        ("end", ABRT()),
        ("continue", AARQ(V3)),
        ("abort", AARQ(V3)),
    ],
)
def test_dialogue_pdu_not_allowed_in_message(message: str, portion: tcap.Dialogue) -> None:
    tids = {"begin": "62", "end": "64", "continue": "65", "abort": "67"}[message]
    body = {"begin": "480101", "end": "490101", "continue": "480101490101", "abort": "490101"}
    content = bytes.fromhex(body[message]) + tcap.encode_dialogue(portion)
    data = bytes.fromhex(tids) + bytes((len(content),)) + content
    with pytest.raises(tcap.TcapDecodeError) as info:
        tcap.decode(data)
    assert info.value.p_abort_cause is None


@pytest.mark.parametrize(
    "pdu",
    [
        "6000",  # AARQ without application-context-name
        "600680020780a100",  # empty application-context-name [1]
        "6008a10506030400000000",  # a stray octet after it
        "6109a10706050400000100",  # AARE without result
        "6112a1070605040000010ba203020100a303a20100",  # diagnostic not inside an INTEGER
        "6112a1070605040000010ba203020100a303a30100",  # diagnostic source [3]
        "620100",  # RLRQ: not used by MAP
        "6403810100",  # ABRT without abort-source [0]
        "6403800100 00",  # a stray octet in the ABRT
    ],
)
def test_malformed_dialogue_pdus(pdu: str) -> None:
    data = bytes.fromhex(pdu)
    with pytest.raises(CodecError):
        portion = _dialogue_portion(data)
        tcap.decode_dialogue(portion, 2, len(portion))


def test_dialogue_tolerances() -> None:
    # No protocol-version (it has a DEFAULT), then an indirect-reference in the EXTERNAL.
    pdu = bytes.fromhex("6009a10706050400000114")
    for portion in (_dialogue_portion(pdu), _dialogue_portion(pdu, b"\x02\x01\x01")):
        assert tcap.decode_dialogue(portion, 2, len(portion)) == AARQ((0, 4, 0, 0, 1, 20))
    # An AARE with a two-octet diagnostic takes the general path.
    aare = AARE(V3, 1, 300, 2)
    encoded = tcap.encode_dialogue(aare)
    assert tcap.decode_dialogue(encoded, 2, len(encoded)) == aare


@pytest.mark.parametrize(
    "message",
    [
        Begin(b""),
        Begin(b"12345"),
        End(b"1", None, (tcap.Invoke(128, 45),)),
        End(b"1", None, (tcap.Invoke(1, 45, None, -129),)),
        End(b"1", None, (tcap.Reject(1, 4, 0),)),
        End(b"1", None, (tcap.ReturnResultLast(1, None, b"\x05\x00"),)),
        End(b"1", AARE(V3, 0, 0, 3)),
        Abort(b"1", 1, ABRT()),
        Begin(b"1", AARQ((5, 1))),
    ],
)
def test_encoder_refuses(message: tcap.Message) -> None:
    with pytest.raises(CodecError):
        tcap.encode(message)


def test_global_operation_codes_are_refused() -> None:
    # Invoke with opcode globalValue OBJECT IDENTIFIER: MAP never sends it.
    data = bytes.fromhex("640c490101 6c07 a105020101 0600")
    with pytest.raises(tcap.TcapDecodeError, match="local"):
        tcap.decode(data)


def test_user_information_round_trip() -> None:
    user = bytes.fromhex("2803 0601 00")
    for dialogue in (AARQ(V3, user), AARE(V3, 0, 0, 1, user), ABRT(1, user)):
        message: tcap.Message = (
            Begin(b"\x01", dialogue)
            if isinstance(dialogue, AARQ)
            else Abort(b"\x01", None, dialogue)
        )
        assert tcap.decode(tcap.encode(message)) == message
