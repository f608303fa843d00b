"""ITU-T Q.773 TCAP messages: transaction, dialogue and component portions.

Sans-IO: `encode(message) -> bytes` and `decode(data) -> message`, over frozen
dataclasses. The dialogue portion is an EXTERNAL whose direct-reference is
dialogue-as-id (0.0.17.773.1.1.1) and whose single-ASN1-type is an AARQ, AARE
or ABRT (Q.773 §4.2.2, DialoguePDUs module). Operation and error codes are
local values (INTEGER); the global form (an OID) is refused, as MAP never uses
it. Component parameters are kept as their whole encoded TLV (tag, length and
contents): the parameter is an ANY, so its tag belongs to the user (MAP).

`decode` raises only `TcapDecodeError`, a `CodecError` that also says which
P-Abort cause Q.774 §3.2 calls for (None when the transaction portion was good
and the fault lies in the dialogue or component portion) and the transaction
ids it could read, so the caller can answer the peer. Refused as well, being
unused by MAP SendRoutingInfoForSM: Unidirectional, returnResultNotLast [7],
global operation and error codes, and the RLRQ / RLRE dialogue PDUs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from numlookup.errors import CodecError
from numlookup.ss7 import ber

LAYER = "tcap"

# Q.773 §4.2.1 (TCAPMessages): message types and transaction portion tags.
TAG_BEGIN = 0x62  # [APPLICATION 2]
TAG_END = 0x64  # [APPLICATION 4]
TAG_CONTINUE = 0x65  # [APPLICATION 5]
TAG_ABORT = 0x67  # [APPLICATION 7]
TAG_OTID = 0x48  # [APPLICATION 8] OrigTransactionID
TAG_DTID = 0x49  # [APPLICATION 9] DestTransactionID
TAG_P_ABORT_CAUSE = 0x4A  # [APPLICATION 10] P-AbortCause
TAG_DIALOGUE_PORTION = 0x6B  # [APPLICATION 11] EXTERNAL
TAG_COMPONENT_PORTION = 0x6C  # [APPLICATION 12] SEQUENCE OF Component
# Component types (Q.773 §4.2.1, Component CHOICE).
TAG_INVOKE = 0xA1
TAG_RETURN_RESULT_LAST = 0xA2
TAG_RETURN_ERROR = 0xA3
TAG_REJECT = 0xA4
# Dialogue PDUs (Q.773 §4.2.2).
TAG_AARQ = 0x60  # [APPLICATION 0]
TAG_AARE = 0x61  # [APPLICATION 1]
TAG_ABRT = 0x64  # [APPLICATION 4]

DIALOGUE_AS_ID = (0, 0, 17, 773, 1, 1, 1)  # Q.773 §4.2.2 dialogue-as-id
DIALOGUE_AS_ID_TLV = b"\x06\x07\x00\x11\x86\x05\x01\x01\x01"
_PROTOCOL_VERSION_1 = b"\x80\x02\x07\x80"  # [0] IMPLICIT BIT STRING {version1(0)}


# Named values of Q.773 §4.2.1 (TCAPMessages) and §4.2.2 (DialoguePDUs).


class PAbortCause(IntEnum):
    UNRECOGNIZED_MESSAGE_TYPE = 0
    UNRECOGNIZED_TRANSACTION_ID = 1
    BADLY_FORMATTED_TRANSACTION_PORTION = 2
    INCORRECT_TRANSACTION_PORTION = 3
    RESOURCE_LIMITATION = 4
    ABNORMAL_DIALOGUE = 5
    NO_COMMON_DIALOGUE_PORTION = 6


class AssociateResult(IntEnum):
    ACCEPTED = 0
    REJECT_PERMANENT = 1


class DiagnosticSource(IntEnum):  # Associate-source-diagnostic: its CHOICE's tag numbers
    DIALOGUE_SERVICE_USER = 1
    DIALOGUE_SERVICE_PROVIDER = 2


class ServiceUserDiagnostic(IntEnum):
    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2


class ServiceProviderDiagnostic(IntEnum):
    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_DIALOGUE_PORTION = 2


class AbortSource(IntEnum):  # ABRT-source
    DIALOGUE_SERVICE_USER = 0
    DIALOGUE_SERVICE_PROVIDER = 1


class ProblemType(IntEnum):  # Reject problem: its CHOICE's tag numbers
    GENERAL = 0
    INVOKE = 1
    RETURN_RESULT = 2
    RETURN_ERROR = 3


class GeneralProblem(IntEnum):
    UNRECOGNIZED_COMPONENT = 0
    MISTYPED_COMPONENT = 1
    BADLY_STRUCTURED_COMPONENT = 2


class InvokeProblem(IntEnum):
    DUPLICATE_INVOKE_ID = 0
    UNRECOGNIZED_OPERATION = 1
    MISTYPED_PARAMETER = 2
    RESOURCE_LIMITATION = 3
    INITIATING_RELEASE = 4
    UNRECOGNIZED_LINKED_ID = 5
    LINKED_RESPONSE_UNEXPECTED = 6
    UNEXPECTED_LINKED_OPERATION = 7


class ReturnResultProblem(IntEnum):
    UNRECOGNIZED_INVOKE_ID = 0
    RETURN_RESULT_UNEXPECTED = 1
    MISTYPED_PARAMETER = 2


class ReturnErrorProblem(IntEnum):
    UNRECOGNIZED_INVOKE_ID = 0
    RETURN_ERROR_UNEXPECTED = 1
    UNRECOGNIZED_ERROR = 2
    UNEXPECTED_ERROR = 3
    MISTYPED_PARAMETER = 4


class TcapDecodeError(CodecError):
    """TCAP bytes that `decode` refuses, with what is needed to answer them.

    `p_abort_cause` is the P-Abort cause to send (Q.774 §3.2.1.2), or None when
    the transaction portion was good; `otid` / `dtid` are the transaction ids
    read before the fault, if any.
    """

    def __init__(
        self,
        message: str,
        p_abort_cause: int | None,
        otid: bytes | None = None,
        dtid: bytes | None = None,
    ) -> None:
        super().__init__(LAYER, message)
        self.p_abort_cause = p_abort_cause
        self.otid = otid
        self.dtid = dtid


# --- Dialogue portion (Q.773 §4.2.2) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class AARQ:
    """Dialogue request. `user_information` is the raw content of [30]."""

    application_context_name: tuple[int, ...]
    user_information: bytes | None = None


@dataclass(frozen=True, slots=True)
class AARE:
    """Dialogue response: `result` is an AssociateResult, `diagnostic` a
    ServiceUserDiagnostic or ServiceProviderDiagnostic per `diagnostic_source`."""

    application_context_name: tuple[int, ...]
    result: int = AssociateResult.ACCEPTED
    diagnostic: int = ServiceUserDiagnostic.NULL
    diagnostic_source: int = DiagnosticSource.DIALOGUE_SERVICE_USER
    user_information: bytes | None = None


@dataclass(frozen=True, slots=True)
class ABRT:
    """Dialogue abort: `abort_source` is an AbortSource."""

    abort_source: int = AbortSource.DIALOGUE_SERVICE_USER
    user_information: bytes | None = None


Dialogue = AARQ | AARE | ABRT

# --- Component portion (Q.773 §4.2.1, §3.1) ----------------------------------------


@dataclass(frozen=True, slots=True)
class Invoke:
    invoke_id: int
    opcode: int
    parameter: bytes | None = None
    linked_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReturnResultLast:
    invoke_id: int
    opcode: int | None = None
    parameter: bytes | None = None


@dataclass(frozen=True, slots=True)
class ReturnError:
    invoke_id: int
    error_code: int
    parameter: bytes | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """`invoke_id` None is not-derivable; `problem_type` is a ProblemType."""

    invoke_id: int | None
    problem_type: int
    problem_code: int


Component = Invoke | ReturnResultLast | ReturnError | Reject

# --- Messages (Q.773 §4.2.1) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Begin:
    otid: bytes
    dialogue: AARQ | None = None
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class Continue:
    otid: bytes
    dtid: bytes
    dialogue: AARE | None = None
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class End:
    dtid: bytes
    dialogue: AARE | None = None
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class Abort:
    """`p_abort_cause` set: a P-Abort; else a U-Abort, with an ABRT or (on a
    refused dialogue) an AARE, or no reason at all."""

    dtid: bytes
    p_abort_cause: int | None = None
    dialogue: AARE | ABRT | None = None


Message = Begin | Continue | End | Abort

# --- Encoding ----------------------------------------------------------------------

_tlv = ber.tlv


def _tid_tlv(tag: bytes, tid: bytes) -> bytes:
    if not 1 <= len(tid) <= 4:  # Q.773 §4.2.1: OCTET STRING (SIZE (1..4))
        raise CodecError(LAYER, f"transaction id of {len(tid)} octets")
    return tag + bytes((len(tid),)) + tid


def _invoke_id(value: int) -> bytes:
    if not -128 <= value <= 127:  # InvokeIdType ::= INTEGER (-128..127)
        raise CodecError(LAYER, f"invoke id {value} out of range")
    return b"\x02\x01" + bytes((value & 0xFF,))


def _integer(value: int) -> bytes:
    return _tlv(b"\x02", ber.encode_integer_content(value))


def encode_dialogue(dialogue: Dialogue) -> bytes:
    """The dialogue portion [APPLICATION 11] EXTERNAL around one dialogue PDU."""
    if isinstance(dialogue, AARQ) and dialogue.user_information is None:
        # The dialogue of every Begin we send, as one template: n is the OID's length.
        oid = ber.encode_oid_content(dialogue.application_context_name)
        n = len(oid)
        if n < 0x60:
            return (
                bytes((0x6B, n + 23, 0x28, n + 21))
                + DIALOGUE_AS_ID_TLV
                + bytes((0xA0, n + 10, TAG_AARQ, n + 8))
                + _PROTOCOL_VERSION_1
                + bytes((0xA1, n + 2, 0x06, n))
                + oid
            )
    user = b"" if dialogue.user_information is None else _tlv(b"\xbe", dialogue.user_information)
    if isinstance(dialogue, ABRT):
        abort_source = _tlv(b"\x80", ber.encode_integer_content(dialogue.abort_source))
        pdu = _tlv(b"\x64", abort_source + user)
    else:
        oid = ber.encode_oid_content(dialogue.application_context_name)
        # protocol-version, then application-context-name [1] { OBJECT IDENTIFIER }
        content = _PROTOCOL_VERSION_1 + _tlv(b"\xa1", _tlv(b"\x06", oid))
        if isinstance(dialogue, AARQ):
            pdu = _tlv(b"\x60", content + user)
        else:
            source = dialogue.diagnostic_source
            if source not in (1, 2):
                raise CodecError(LAYER, f"diagnostic source {source}")
            diagnostic = _tlv(bytes((0xA0 | source,)), _integer(dialogue.diagnostic))
            content += _tlv(b"\xa2", _integer(dialogue.result)) + _tlv(b"\xa3", diagnostic)
            pdu = _tlv(b"\x61", content + user)
    return _tlv(b"\x6b", _tlv(b"\x28", DIALOGUE_AS_ID_TLV + _tlv(b"\xa0", pdu)))


def encode_component(component: Component) -> bytes:
    """One Component TLV (Q.773 §4.2.1)."""
    if isinstance(component, Invoke):
        linked = b""
        if component.linked_id is not None:
            linked = b"\x80" + _invoke_id(component.linked_id)[1:]
        content = _invoke_id(component.invoke_id) + linked + _integer(component.opcode)
        return _tlv(b"\xa1", content + (component.parameter or b""))
    if isinstance(component, ReturnResultLast):
        content = _invoke_id(component.invoke_id)
        if component.opcode is not None:  # result SEQUENCE { operationCode, parameter }
            result = _integer(component.opcode) + (component.parameter or b"")
            content += _tlv(b"\x30", result)
        elif component.parameter is not None:
            raise CodecError(LAYER, "a result parameter needs its operation code")
        return _tlv(b"\xa2", content)
    if isinstance(component, ReturnError):
        content = _invoke_id(component.invoke_id) + _integer(component.error_code)
        return _tlv(b"\xa3", content + (component.parameter or b""))
    if not 0 <= component.problem_type <= 3:
        raise CodecError(LAYER, f"reject problem type {component.problem_type}")
    invoke_id = b"\x05\x00" if component.invoke_id is None else _invoke_id(component.invoke_id)
    problem_tag = bytes((0x80 | component.problem_type,))
    problem = _tlv(problem_tag, ber.encode_integer_content(component.problem_code))
    return _tlv(b"\xa4", invoke_id + problem)


def encode(message: Message) -> bytes:
    """The BER encoding of one TC message (Q.773 §4.2.1)."""
    if isinstance(message, Abort):
        body = _tid_tlv(b"\x49", message.dtid)
        if message.p_abort_cause is not None:
            if message.dialogue is not None:
                raise CodecError(LAYER, "an Abort has a P-Abort cause or a dialogue, not both")
            body += _tlv(b"\x4a", ber.encode_integer_content(message.p_abort_cause))
        elif message.dialogue is not None:
            body += encode_dialogue(message.dialogue)
        return _tlv(b"\x67", body)
    body = b"" if isinstance(message, End) else _tid_tlv(b"\x48", message.otid)
    if not isinstance(message, Begin):
        body += _tid_tlv(b"\x49", message.dtid)
    if message.dialogue is not None:
        body += encode_dialogue(message.dialogue)
    if message.components:
        body += _tlv(b"\x6c", b"".join([encode_component(c) for c in message.components]))
    if isinstance(message, Begin):
        return _tlv(b"\x62", body)
    return _tlv(b"\x64" if isinstance(message, End) else b"\x65", body)


# --- Decoding ----------------------------------------------------------------------

_read_tlv = ber.read_tlv
_BADLY_FORMATTED = PAbortCause.BADLY_FORMATTED_TRANSACTION_PORTION
_INCORRECT = PAbortCause.INCORRECT_TRANSACTION_PORTION


def _read_id(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """InvokeIdType ::= INTEGER (-128..127), under `tag` (0x02, or 0x80 for linkedID)."""
    found, start, stop = _read_tlv(data, pos, end)
    if found != tag or stop - start != 1:
        raise CodecError(LAYER, f"invoke id expected, tag {found:#x} of {stop - start} octets")
    value = data[start]
    return (value - 256 if value > 127 else value), stop


def _read_code(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = _read_tlv(data, pos, end)
    if tag != 0x02:  # localValue INTEGER; globalValue (an OID) is not used by MAP
        raise CodecError(LAYER, f"local operation or error code expected, tag {tag:#x}")
    return ber.read_integer(data, start, stop), stop


def _read_parameter(data: bytes, pos: int, end: int) -> bytes | None:
    if pos == end:
        return None
    if _read_tlv(data, pos, end)[2] != end:
        raise CodecError(LAYER, "more than one parameter in a component")
    return data[pos:end]


def decode_component(data: bytes, tag: int, start: int, end: int) -> Component:
    """The component `tag` whose contents are `data[start:end]`."""
    if tag == TAG_REJECT:
        invoke_id: int | None = None
        if start < end and data[start] == 0x05:  # invokeID not-derivable NULL
            _, null_start, pos = _read_tlv(data, start, end)
            ber.read_null(data, null_start, pos)
        else:
            invoke_id, pos = _read_id(data, start, end, 0x02)
        ptag, pstart, pstop = _read_tlv(data, pos, end)
        if pstop != end or not 0x80 <= ptag <= 0x83:  # problem [0]..[3] IMPLICIT INTEGER
            raise CodecError(LAYER, f"reject problem expected, tag {ptag:#x}")
        return Reject(invoke_id, ptag & 0x03, ber.read_integer(data, pstart, pstop))
    invoke_id, pos = _read_id(data, start, end, 0x02)
    if tag == TAG_INVOKE:
        linked_id = None
        if pos < end and data[pos] == 0x80:  # linkedID [0] IMPLICIT InvokeIdType
            linked_id, pos = _read_id(data, pos, end, 0x80)
        opcode, pos = _read_code(data, pos, end)
        return Invoke(invoke_id, opcode, _read_parameter(data, pos, end), linked_id)
    if tag == TAG_RETURN_ERROR:
        error_code, pos = _read_code(data, pos, end)
        return ReturnError(invoke_id, error_code, _read_parameter(data, pos, end))
    if tag != TAG_RETURN_RESULT_LAST:  # returnResultNotLast [7] (segmentation): not used
        raise CodecError(LAYER, f"unknown component type {tag:#x}")
    result_code: int | None = None
    parameter = None
    if pos < end:  # result SEQUENCE { operationCode, parameter } OPTIONAL
        stag, sstart, pos = _read_tlv(data, pos, end)
        if stag != 0x30 or pos != end:
            raise CodecError(LAYER, "return result: SEQUENCE expected")
        result_code, ppos = _read_code(data, sstart, end)
        parameter = _read_parameter(data, ppos, end)
    return ReturnResultLast(invoke_id, result_code, parameter)


# AARE result [2] { INTEGER } and result-source-diagnostic [3] { [1] or [2] { INTEGER } }
_AARE_TAIL = re.compile(rb"\xa2\x03\x02\x01.\xa3\x05[\xa1\xa2]\x03\x02\x01.", re.DOTALL)


def _read_user_information(data: bytes, pos: int, end: int) -> bytes | None:
    if pos == end:
        return None
    tag, start, stop = _read_tlv(data, pos, end)
    if tag != 0xBE or stop != end:  # user-information [30] IMPLICIT SEQUENCE OF EXTERNAL
        raise CodecError(LAYER, f"unexpected element {tag:#x} in a dialogue PDU")
    return data[start:stop]


def decode_dialogue(data: bytes, start: int, end: int) -> Dialogue:
    """The dialogue portion whose contents (the EXTERNAL) are `data[start:end]`."""
    tag, start, stop = _read_tlv(data, start, end)
    if tag != ber.EXTERNAL or stop != end:
        raise CodecError(LAYER, "dialogue portion: one EXTERNAL expected")
    if data[start : start + 9] != DIALOGUE_AS_ID_TLV:  # direct-reference
        raise CodecError(LAYER, "dialogue portion direct-reference is not dialogue-as-id")
    tag, start, stop = _read_tlv(data, start + 9, end)
    while tag in (0x02, 0x07) and stop < end:  # indirect-reference, data-value-descriptor
        tag, start, stop = _read_tlv(data, stop, end)
    if stop != end or tag not in (0xA0, 0x81):  # single-ASN1-type [0] / octet-aligned [1]
        raise CodecError(LAYER, f"dialogue portion encoding {tag:#x} not understood")
    tag, pos, end = _read_tlv(data, start, stop)
    if end != stop:
        raise CodecError(LAYER, "octets after the dialogue PDU")
    if tag == TAG_ABRT:
        atag, astart, pos = _read_tlv(data, pos, end)
        if atag != 0x80:  # abort-source [0] IMPLICIT ABRT-source
            raise CodecError(LAYER, f"ABRT abort-source expected, tag {atag:#x}")
        source = ber.read_integer(data, astart, pos)
        return ABRT(source, _read_user_information(data, pos, end))
    if tag != TAG_AARQ and tag != TAG_AARE:
        raise CodecError(LAYER, f"unknown dialogue PDU {tag:#x}")
    # protocol-version [0] IMPLICIT BIT STRING DEFAULT {version1}: only version1 exists.
    if data[pos : pos + 4] == _PROTOCOL_VERSION_1:
        pos += 4
    elif pos < end and data[pos] == 0x80:
        pos = _read_tlv(data, pos, end)[2]
    ostart, ostop, pos = ber.read_explicit(data, pos, end, 0xA1, 0x06)  # application-context-name
    acn = ber.read_oid(data, ostart, ostop)
    if tag == TAG_AARQ:
        return AARQ(acn, _read_user_information(data, pos, end))
    if _AARE_TAIL.match(data, pos, end):  # the usual shape: values of one octet each
        result, source, diagnostic = data[pos + 4], data[pos + 7] & 0x03, data[pos + 11]
        if result < 0x80 and diagnostic < 0x80:
            user_information = _read_user_information(data, pos + 12, end)
            return AARE(acn, result, diagnostic, source, user_information)
    istart, istop, pos = ber.read_explicit(data, pos, end, 0xA2, 0x02)  # result [2]
    result = ber.read_integer(data, istart, istop)
    # result-source-diagnostic [3] CHOICE { dialogue-service-user [1], -provider [2] }
    dtag, dstart, dstop = _read_tlv(data, pos, end)
    source = data[dstart] & 0x1F if dstart < dstop else 0
    if dtag != 0xA3 or source not in (1, 2):
        raise CodecError(LAYER, "AARE result-source-diagnostic expected")
    istart, istop, pos = ber.read_explicit(data, dstart, dstop, 0xA0 | source, 0x02)
    if pos != dstop:
        raise CodecError(LAYER, "octets after the AARE diagnostic")
    diagnostic = ber.read_integer(data, istart, istop)
    return AARE(acn, result, diagnostic, source, _read_user_information(data, dstop, end))


def _tid(data: bytes, element: tuple[int, int, int], tag: int, otid: bytes) -> bytes:
    found, start, stop = element
    if found != tag or not 1 <= stop - start <= 4:  # OCTET STRING (SIZE (1..4))
        message = f"transaction id {tag:#x} missing or malformed"
        raise TcapDecodeError(message, _INCORRECT, otid or None)
    return data[start:stop]


def decode(data: bytes) -> Message:
    """One TC message (Q.773 §4.2.1); raises only TcapDecodeError."""
    try:
        tag, start, stop = _read_tlv(data, 0, len(data))
        elements = ber.read_children(data, start, stop)
    except CodecError as exc:
        raise TcapDecodeError(f"transaction portion: {exc}", _BADLY_FORMATTED) from exc
    if stop != len(data):
        raise TcapDecodeError("octets after the message", _BADLY_FORMATTED)
    elements.append((-1, 0, 0))  # a sentinel: no element has tag -1
    otid = dtid = b""
    index = 0
    if tag in (TAG_BEGIN, TAG_CONTINUE):
        otid = _tid(data, elements[0], TAG_OTID, otid)
        index = 1
    elif tag not in (TAG_END, TAG_ABORT):
        found = [data[s:e] for t, s, e in elements if t == TAG_OTID and 1 <= e - s <= 4]
        cause = PAbortCause.UNRECOGNIZED_MESSAGE_TYPE
        raise TcapDecodeError(f"message type {tag:#x}", cause, found[0] if found else None)
    if tag != TAG_BEGIN:
        dtid = _tid(data, elements[index], TAG_DTID, otid)
        index += 1
    element = elements[index]
    if tag == TAG_ABORT and element[0] == TAG_P_ABORT_CAUSE:
        _, start, stop = element
        if stop - start != 1 or data[start] > 127 or elements[index + 1][0] != -1:
            raise TcapDecodeError("malformed P-Abort cause", _BADLY_FORMATTED, None, dtid)
        return Abort(dtid, data[start])  # P-AbortCause ::= INTEGER (0..127)
    dialogue: Dialogue | None = None
    components: list[Component] = []
    try:
        if element[0] == TAG_DIALOGUE_PORTION:
            dialogue = decode_dialogue(data, element[1], element[2])
            index += 1
            element = elements[index]
        if element[0] == TAG_COMPONENT_PORTION and tag != TAG_ABORT:
            _, pos, portion_end = element
            while pos < portion_end:
                ctag, cstart, pos = _read_tlv(data, pos, portion_end)
                components.append(decode_component(data, ctag, cstart, pos))
            index += 1
    except CodecError as exc:
        message = str(exc).removeprefix(f"{LAYER}: ")
        raise TcapDecodeError(message, None, otid or None, dtid or None) from exc
    if elements[index][0] != -1:
        message = f"unexpected element {elements[index][0]:#x}"
        raise TcapDecodeError(message, _BADLY_FORMATTED, otid or None, dtid or None)
    if tag == TAG_BEGIN:
        if dialogue is None or isinstance(dialogue, AARQ):
            return Begin(otid, dialogue, tuple(components))
    elif tag == TAG_ABORT:
        if not isinstance(dialogue, AARQ):
            return Abort(dtid, None, dialogue)
    elif dialogue is None or isinstance(dialogue, AARE):
        if tag == TAG_END:
            return End(dtid, dialogue, tuple(components))
        return Continue(otid, dtid, dialogue, tuple(components))
    message = f"{type(dialogue).__name__} not allowed in message {tag:#x}"
    raise TcapDecodeError(message, None, otid or None, dtid or None)
