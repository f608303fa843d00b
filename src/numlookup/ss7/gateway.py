"""The SMS gateway (SMS-GMSC) side of SendRoutingInfoForSM, across MAP, TCAP and SCCP.

Sans-IO: `request()` builds the SCCP message that asks an HLR; `answer()` reads
what comes back into an `Answer` that names the outcome, or says to ask again
with the older application context. The adapter (numlookup.realtime) owns the
transaction table, the timers and the links.

The request (TS 29.002 §12.1, §15.2.2 of 23.040's procedure):
- SCCP UDT (Q.713 §4.10), or XUDT when it does not fit, class 0 with "return
  message on error", so an unroutable request comes back as UDTS/XUDTS;
  called party: the MSISDN as Global Title (GTI 4, TT 0, NP E.164, NAI
  international), SSN 6 (HLR), route on GT; calling party: our GT, SSN 8.
- TCAP Begin (Q.773 §3.1) with AARQ for shortMsgGatewayContext v3 (or v2 for an
  HLR known to refuse v3) and one Invoke, invoke id 1, of sendRoutingInfoForSM
  (opcode 45) with RoutingInfoForSM-Arg {msisdn, sm-RP-PRI TRUE,
  serviceCentreAddress = our GT}.

What comes back, and the result code it becomes:
- End (or Continue) with ReturnResultLast: OK; the IMSI's MCC+MNC by the E.212
  table, the country calling code of networkNode-Number as location.
- ReturnError: the MAP error of the same name (absentSubscriber 27 counts as
  ABSENT_SUBSCRIBER_SM); an error SRI-SM does not define: SYSTEM_FAILURE.
- Reject component: HLR_REJECT.
- U-Abort whose AARE says application-context-name-not-supported:
  Answer.retry_v2 (the caller asks again with v2 if it asked with v3, and
  answers HLR_ABORT if not). Any other U-Abort, or a P-Abort: HLR_ABORT.
- UDTS / XUDTS (the network returned our Begin): HLR_ABORT, matched to the
  dialogue by the otid inside the returned Begin.
- A Begin toward us: the SMS gateway takes no dialogues, so it is refused at
  once with a TC-U-ABORT (Answer.refusal), keeping no state for it: a flood of
  Begins costs an answer each and fills no table.
"""

from __future__ import annotations

from dataclasses import dataclass

from numlookup.errors import CodecError
from numlookup.numbers.e212 import split_imsi
from numlookup.numbers.msisdn import country_code
from numlookup.results import Outcome, ResultCode
from numlookup.ss7 import gsm_map, sccp, tcap
from numlookup.ss7.gsm_map import MapError

INVOKE_ID = 1
V3 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3
V2 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V2

MAP_ERROR_RESULTS: dict[int, ResultCode] = {
    MapError.UNKNOWN_SUBSCRIBER: ResultCode.UNKNOWN_SUBSCRIBER,
    MapError.ABSENT_SUBSCRIBER_SM: ResultCode.ABSENT_SUBSCRIBER_SM,
    MapError.ABSENT_SUBSCRIBER: ResultCode.ABSENT_SUBSCRIBER_SM,
    MapError.TELESERVICE_NOT_PROVISIONED: ResultCode.TELE_SERVICE_NOT_PROVISIONED,
    MapError.CALL_BARRED: ResultCode.CALL_BARRED,
    MapError.FACILITY_NOT_SUPPORTED: ResultCode.FACILITY_NOT_SUPPORTED,
    MapError.SYSTEM_FAILURE: ResultCode.SYSTEM_FAILURE,
    MapError.DATA_MISSING: ResultCode.DATA_MISSING,
    MapError.UNEXPECTED_DATA_VALUE: ResultCode.UNEXPECTED_DATA_VALUE,
}
_ERROR_OUTCOMES = {code: Outcome(result) for code, result in MAP_ERROR_RESULTS.items()}
REJECTED = Outcome(ResultCode.HLR_REJECT)
ABORTED = Outcome(ResultCode.HLR_ABORT)
SYSTEM_FAILURE = Outcome(ResultCode.SYSTEM_FAILURE)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one incoming SCCP message means for the dialogue `tid` (our otid)."""

    tid: bytes
    outcome: Outcome | None  # None: not final (retry_v2, or a Continue with nothing yet)
    retry_v2: bool = False
    hlr_gt: str | None = None  # the answering HLR's Global Title, when it gave one
    # Set for a Continue: the peer's otid, and where a P-Abort goes if the
    # dialogue is unknown here.
    peer_tid: bytes | None = None
    abort_to: sccp.SccpAddress | None = None
    abort_from: sccp.SccpAddress | None = None
    refusal: bytes | None = None  # an SCCP message to send back at once


def request(
    otid: bytes, msisdn: str, local_gt: str, application_context: tuple[int, ...] = V3
) -> bytes:
    """The SCCP message (UDT or XUDT) that carries a Begin with SRI-SM for `msisdn`."""
    invoke = tcap.Invoke(
        INVOKE_ID,
        gsm_map.SEND_ROUTING_INFO_FOR_SM,
        gsm_map.encode_sri_sm_arg(msisdn, local_gt),
    )
    begin = tcap.encode(tcap.Begin(otid, tcap.AARQ(application_context), (invoke,)))
    return sccp.encode_unitdata(
        sccp.SccpAddress(msisdn, sccp.SSN_HLR),
        sccp.SccpAddress(local_gt, sccp.SSN_MSC),
        begin,
        return_on_error=True,
    )


def answer(data: bytes) -> Answer:
    """Read an SCCP message from the network. Raises CodecError when it is unusable."""
    message = sccp.decode(data)
    if isinstance(message, sccp.UnitdataService | sccp.ExtendedUnitdataService):
        returned = tcap.decode(message.data)
        if not isinstance(returned, tcap.Begin):
            raise CodecError("tcap", "a returned message that is not our Begin")
        return Answer(returned.otid, ABORTED)
    hlr_gt = message.calling.digits
    reply = tcap.decode(message.data)
    if isinstance(reply, tcap.Begin):
        abort = tcap.encode(tcap.Abort(reply.otid, None, tcap.ABRT()))
        refusal = sccp.encode_unitdata(message.calling, message.called, abort)
        return Answer(b"", None, refusal=refusal)
    if isinstance(reply, tcap.Abort):
        if (
            isinstance(reply.dialogue, tcap.AARE)
            and reply.dialogue.diagnostic_source == tcap.DiagnosticSource.DIALOGUE_SERVICE_USER
            and reply.dialogue.diagnostic
            == tcap.ServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
        ):
            return Answer(reply.dtid, None, retry_v2=True, hlr_gt=hlr_gt)
        return Answer(reply.dtid, ABORTED, hlr_gt=hlr_gt)
    if isinstance(reply, tcap.Continue):
        outcome = _components(reply.components)
        return Answer(
            reply.dtid,
            outcome,
            hlr_gt=hlr_gt,
            peer_tid=reply.otid,
            abort_to=message.calling,
            abort_from=message.called,
        )
    # End: a dialogue ended without a component for our invoke has no answer.
    return Answer(reply.dtid, _components(reply.components) or ABORTED, hlr_gt=hlr_gt)


def _components(components: tuple[tcap.Component, ...]) -> Outcome | None:
    for component in components:
        if isinstance(component, tcap.ReturnResultLast):
            if component.invoke_id != INVOKE_ID or component.parameter is None:
                return SYSTEM_FAILURE
            return routing_info_outcome(gsm_map.decode_sri_sm_res(component.parameter))
        if isinstance(component, tcap.ReturnError):
            return _ERROR_OUTCOMES.get(component.error_code, SYSTEM_FAILURE)
        if isinstance(component, tcap.Reject):
            return REJECTED
    return None


def routing_info_outcome(res: gsm_map.RoutingInfoForSmRes) -> Outcome:
    """OK with MCC+MNC of the IMSI and the serving node's country calling code."""
    split = split_imsi(res.imsi)
    if split is None:
        # Not in the E.212 table: the MNC length is a guess (3 digits in
        # North America's MCCs 310-316, 2 elsewhere, E.212 Annex A).
        mnc_digits = 3 if res.imsi[:2] == "31" else 2
        plmn = res.imsi[: 3 + mnc_digits]
        if len(plmn) < 5 or not plmn.isdigit():
            return SYSTEM_FAILURE
    else:
        plmn = split[0] + split[1]
    location = country_code(res.network_node_number) if res.network_node_number else None
    return Outcome(ResultCode.OK, imsi=plmn, location=location)


def p_abort(peer_tid: bytes, called: sccp.SccpAddress, calling: sccp.SccpAddress | None) -> bytes:
    """A P-Abort "unrecognized transaction ID" back to whoever continued an unknown dialogue.

    `peer_tid` is the peer's own transaction id (the otid of its Continue).
    """
    abort = tcap.encode(tcap.Abort(peer_tid, tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID))
    return sccp.encode_unitdata(called, calling or called, abort)
