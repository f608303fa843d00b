"""The HLR of the simulator: SRI-SM in, the subscriber table's answer out (sans-IO).

`Hlr.handle(sccp_bytes)` returns the replies to send, each with the delay to
send it after. It answers as an HLR does (TS 29.002 §12.1, Q.773/Q.774):
- a Begin with an AARQ for shortMsgGatewayContext v3 or v2 and an Invoke of
  sendRoutingInfoForSM: End with an AARE (accepted) and ReturnResultLast or
  ReturnError, by the rule for the MSISDN (numlookup.hlrsim.subscribers);
- `v2-only`: a v3 AARQ gets TC-U-ABORT with an AARE "application context name
  not supported" naming v2; a v2 one is answered as `ok`;
- any other application context: the same refusal, naming v3;
- `tcap-abort`: TC-U-ABORT with an ABRT; `reject`: End with a Reject of the
  invoke (mistyped parameter); `no-answer`: nothing;
- a Begin without sendRoutingInfoForSM: End with a Reject "unrecognized operation";
- a Continue for a dialogue it never had: P-Abort "unrecognized transaction ID";
- undecodable TCAP from which the otid can be read: P-Abort with the cause the
  decoder names (Q.774 §3.2.1.2); anything else undecodable, UDTS and
  End/Abort: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from numlookup.errors import CodecError
from numlookup.hlrsim.subscribers import SubscriberTable
from numlookup.ss7 import gsm_map, sccp, tcap
from numlookup.ss7.gsm_map import MapError

V3 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3
V2 = gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V2

ERRORS: dict[str, int] = {
    "unknown": MapError.UNKNOWN_SUBSCRIBER,
    "absent": MapError.ABSENT_SUBSCRIBER_SM,
    "absent-subscriber": MapError.ABSENT_SUBSCRIBER,
    "teleservice-not-provisioned": MapError.TELESERVICE_NOT_PROVISIONED,
    "barred": MapError.CALL_BARRED,
    "facility-not-supported": MapError.FACILITY_NOT_SUPPORTED,
    "system-failure": MapError.SYSTEM_FAILURE,
    "data-missing": MapError.DATA_MISSING,
    "unexpected-data-value": MapError.UNEXPECTED_DATA_VALUE,
}


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes  # an SCCP message
    delay_ms: int = 0


class Hlr:
    def __init__(self, table: SubscriberTable, gt: str) -> None:
        self.table = table
        self.address = sccp.SccpAddress(gt, sccp.SSN_HLR)
        self.answered = 0

    def handle(self, data: bytes) -> list[Reply]:
        try:
            message = sccp.decode(data)
        except CodecError:
            return []
        if not isinstance(message, sccp.Unitdata | sccp.ExtendedUnitdata):
            return []
        back = message.calling
        try:
            request = tcap.decode(message.data)
        except tcap.TcapDecodeError as exc:
            # Q.774 §3.2.1.2: a P-Abort when the originator can be told.
            if exc.otid is None:
                return []
            cause = exc.p_abort_cause
            if cause is None:
                cause = tcap.PAbortCause.BADLY_FORMATTED_TRANSACTION_PORTION
            return [self._reply(back, tcap.Abort(exc.otid, cause))]
        except CodecError:
            return []
        if isinstance(request, tcap.Continue):
            cause = tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID
            return [self._reply(back, tcap.Abort(request.otid, cause))]
        if not isinstance(request, tcap.Begin):
            return []
        reply = self._begin(request)
        if reply is None:
            return []
        answer, delay_ms = reply
        self.answered += 1
        return [Reply(self._encode(back, answer), delay_ms)]

    def _begin(self, begin: tcap.Begin) -> tuple[tcap.Message, int] | None:
        context = begin.dialogue.application_context_name if begin.dialogue else None
        if context is not None and context not in (V3, V2):
            return _refuse(begin.otid, V3), 0
        invoke = next(
            (
                c
                for c in begin.components
                if isinstance(c, tcap.Invoke) and c.opcode == gsm_map.SEND_ROUTING_INFO_FOR_SM
            ),
            None,
        )
        accepted = tcap.AARE(context) if context is not None else None
        if invoke is None:
            first = next((c for c in begin.components if isinstance(c, tcap.Invoke)), None)
            reject = tcap.Reject(
                first.invoke_id if first else None,
                tcap.ProblemType.INVOKE if first else tcap.ProblemType.GENERAL,
                tcap.InvokeProblem.UNRECOGNIZED_OPERATION if first else 0,
            )
            return tcap.End(begin.otid, accepted, (reject,)), 0
        try:
            arg = gsm_map.decode_sri_sm_arg(invoke.parameter or b"")
        except CodecError:
            reject = tcap.Reject(
                invoke.invoke_id, tcap.ProblemType.INVOKE, tcap.InvokeProblem.MISTYPED_PARAMETER
            )
            return tcap.End(begin.otid, accepted, (reject,)), 0
        rule = self.table.rule_for(arg.msisdn)
        behaviour = rule.behaviour
        if behaviour == "no-answer":
            return None
        if behaviour == "v2-only" and context == V3:
            return _refuse(begin.otid, V2), 0
        if behaviour == "tcap-abort":
            return tcap.Abort(begin.otid, None, tcap.ABRT()), 0
        if behaviour == "reject":
            reject = tcap.Reject(
                invoke.invoke_id, tcap.ProblemType.INVOKE, tcap.InvokeProblem.MISTYPED_PARAMETER
            )
            return tcap.End(begin.otid, accepted, (reject,)), 0
        error = ERRORS.get(behaviour)
        if error is not None:
            component: tcap.Component = tcap.ReturnError(invoke.invoke_id, error)
        else:
            result = gsm_map.encode_sri_sm_res(rule.imsi_for(arg.msisdn), rule.network_node)
            component = tcap.ReturnResultLast(
                invoke.invoke_id, gsm_map.SEND_ROUTING_INFO_FOR_SM, result
            )
        return tcap.End(begin.otid, accepted, (component,)), rule.delay_ms

    def _encode(self, back: sccp.SccpAddress, message: tcap.Message) -> bytes:
        return sccp.encode_unitdata(back, self.address, tcap.encode(message))

    def _reply(self, back: sccp.SccpAddress, message: tcap.Message) -> Reply:
        return Reply(self._encode(back, message))


def _refuse(otid: bytes, offered: tuple[int, ...]) -> tcap.Abort:
    """TC-U-ABORT refusing the dialogue: AARE naming the context this HLR does support."""
    aare = tcap.AARE(
        offered,
        result=tcap.AssociateResult.REJECT_PERMANENT,
        diagnostic=tcap.ServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
    )
    return tcap.Abort(otid, None, aare)
