"""The SMS gateway side of SRI-SM across the layers, against the simulator's HLR."""

import pytest

from numlookup.errors import CodecError
from numlookup.hlrsim.hlr import Hlr
from numlookup.hlrsim.subscribers import parse
from numlookup.results import Outcome, ResultCode
from numlookup.ss7 import gateway, gsm_map, sccp, tcap

TABLE = parse(
    """prefix,behaviour,imsi,network_node,delay_ms
4670810,ok,240080000000000,46708999001,
46708100300,ok,240080000100300,4917099990001,
46708100006,absent,,,
46708100027,absent-subscriber,,,
46708100011,teleservice-not-provisioned,,,
46708100013,barred,,,
46708100021,facility-not-supported,,,
46708100034,system-failure,,,
46708100035,data-missing,,,
46708100036,unexpected-data-value,,,
46708100900,no-answer,,,
46708100901,tcap-abort,,,
46708100902,reject,,,
3584,v2-only,244910000000000,358405999001,
"""
)
HLR_GT = "46708999999"
OUR_GT = "46700000001"
TID = b"\x00\x00\x00\x2a"


def ask(msisdn: str, context: tuple[int, ...] = gateway.V3) -> list[gateway.Answer]:
    replies = Hlr(TABLE, HLR_GT).handle(gateway.request(TID, msisdn, OUR_GT, context))
    return [gateway.answer(reply.data) for reply in replies]


def test_the_request_across_the_layers() -> None:
    message = sccp.decode(gateway.request(TID, "46708100100", OUR_GT))
    assert isinstance(message, sccp.Unitdata)
    assert (message.called.digits, message.called.ssn) == ("46708100100", 6)
    assert (message.calling.digits, message.calling.ssn) == (OUR_GT, 8)
    assert message.return_on_error and message.protocol_class == 0
    begin = tcap.decode(message.data)
    assert isinstance(begin, tcap.Begin) and begin.otid == TID
    assert begin.dialogue == tcap.AARQ(gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3)
    [invoke] = begin.components
    assert isinstance(invoke, tcap.Invoke) and invoke.opcode == 45
    arg = gsm_map.decode_sri_sm_arg(invoke.parameter or b"")
    assert (arg.msisdn, arg.sm_rp_pri, arg.service_centre_address) == (
        "46708100100",
        True,
        OUR_GT,
    )


@pytest.mark.parametrize(
    ("msisdn", "outcome"),
    [
        ("46708100100", Outcome(ResultCode.OK, imsi="24008", location="46")),
        ("46708100300", Outcome(ResultCode.OK, imsi="24008", location="49")),
        ("819012345678", Outcome(ResultCode.UNKNOWN_SUBSCRIBER)),
        ("46708100006", Outcome(ResultCode.ABSENT_SUBSCRIBER_SM)),
        ("46708100027", Outcome(ResultCode.ABSENT_SUBSCRIBER_SM)),
        ("46708100011", Outcome(ResultCode.TELE_SERVICE_NOT_PROVISIONED)),
        ("46708100013", Outcome(ResultCode.CALL_BARRED)),
        ("46708100021", Outcome(ResultCode.FACILITY_NOT_SUPPORTED)),
        ("46708100034", Outcome(ResultCode.SYSTEM_FAILURE)),
        ("46708100035", Outcome(ResultCode.DATA_MISSING)),
        ("46708100036", Outcome(ResultCode.UNEXPECTED_DATA_VALUE)),
        ("46708100901", Outcome(ResultCode.HLR_ABORT)),
        ("46708100902", Outcome(ResultCode.HLR_REJECT)),
    ],
)
def test_each_answer_becomes_its_result(msisdn: str, outcome: Outcome) -> None:
    [answer] = ask(msisdn)
    assert answer.tid == TID
    assert answer.outcome == outcome
    assert answer.hlr_gt == HLR_GT


def test_v3_refused_then_v2_answered() -> None:
    [refused] = ask("358401234567")
    assert refused.retry_v2 and refused.outcome is None
    [answered] = ask("358401234567", gateway.V2)
    assert answered.outcome == Outcome(ResultCode.OK, imsi="24491", location="358")


def test_no_answer_means_no_message() -> None:
    assert ask("46708100900") == []


def test_a_returned_begin_is_an_abort_of_that_dialogue() -> None:
    request = sccp.decode(gateway.request(TID, "46708100100", OUR_GT))
    assert isinstance(request, sccp.Unitdata)
    returned = sccp.encode(
        sccp.UnitdataService(
            sccp.RETURN_CAUSE_NO_TRANSLATION_FOR_ADDRESS,
            request.calling,
            request.called,
            request.data,
        )
    )
    answer = gateway.answer(returned)
    assert (answer.tid, answer.outcome) == (TID, Outcome(ResultCode.HLR_ABORT))


def test_a_begin_toward_us_is_refused_without_state() -> None:
    incoming = sccp.encode_unitdata(
        sccp.SccpAddress(OUR_GT, 8),
        sccp.SccpAddress(HLR_GT, 6),
        tcap.encode(tcap.Begin(b"\x01\x02", tcap.AARQ(gateway.V3))),
    )
    answer = gateway.answer(incoming)
    assert answer.outcome is None and answer.refusal is not None
    back = sccp.decode(answer.refusal)
    assert back.called.digits == HLR_GT
    abort = tcap.decode(back.data)
    assert isinstance(abort, tcap.Abort) and abort.dtid == b"\x01\x02"


def test_a_continue_carries_where_a_p_abort_would_go() -> None:
    incoming = sccp.encode_unitdata(
        sccp.SccpAddress(OUR_GT, 8),
        sccp.SccpAddress(HLR_GT, 6),
        tcap.encode(tcap.Continue(b"\x09\x09", TID)),
    )
    answer = gateway.answer(incoming)
    assert answer.outcome is None and answer.peer_tid == b"\x09\x09"
    assert answer.abort_to is not None and answer.abort_to.digits == HLR_GT
    abort = tcap.decode(sccp.decode(gateway.p_abort(b"\x09\x09", answer.abort_to, None)).data)
    assert abort == tcap.Abort(b"\x09\x09", tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID)


def test_mcc_mnc_from_the_e212_table_and_a_guess_outside_it() -> None:
    ok = gateway.routing_info_outcome(gsm_map.RoutingInfoForSmRes("310260123456789", "12065550000"))
    assert ok == Outcome(ResultCode.OK, imsi="310260", location="1")
    unlisted = gateway.routing_info_outcome(gsm_map.RoutingInfoForSmRes("999981234567890", None))
    assert unlisted == Outcome(ResultCode.OK, imsi="99998", location=None)


@pytest.mark.parametrize("data", [b"", b"\x09", b"\x09\x00\x03\x05\x07\x02\x42\x08"])
def test_garbage_is_a_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        gateway.answer(data)
