"""Decode M3UA messages with tshark: an independent check of what our SS7 codecs write.

    frames = decode_m3ua([m3ua_bytes, ...])      # one dict per message, in order
    frames[0]["e212.imsi"] == ["240080000000100"]
    assert not has_malformed(frames[0])

How it works (tshark / text2pcap 4.0.17, Debian 12)
----------------------------------------------------
* tshark 4.0 cannot dissect M3UA over TCP, so every message is wrapped in SCTP
  instead: it is written as a hex dump (``000000 01 00 01 01 ...``, one packet per
  block, a new packet wherever the offset goes back to 0) and
  ``text2pcap -q -S 2905,2905,3 in.txt out.pcap`` puts each one in an SCTP DATA chunk
  with payload protocol identifier 3 (M3UA) on port 2905, over a dummy Ethernet/IPv4.
* ``tshark -n -r out.pcap -o gsm_map.tcap.ssn:6-9,145,148-150 -T json -e FIELD ...``
  then prints one JSON object per frame whose ``_source.layers`` maps each requested
  field that occurs to the list of its values (as strings, in order of occurrence).
  A field that does not occur is absent; we turn it into an empty list.
* SCCP -> TCAP -> GSM MAP needs no decode-as: GSM MAP registers the SSNs of its
  preference ``gsm_map.tcap.ssn`` (default ``6-9,145,148-150``) with SCCP and TCAP, so
  called/calling SSN 6 (HLR) and 8 (MSC) hand TCAP components to GSM MAP. A Begin or an
  End with a dialogue portion is also matched by its application-context OID; an End,
  Continue or Abort without one is matched by the SSN alone. ``tcap.ssn`` is not needed.
  We pin the preference with ``-o`` anyway and point ``WIRESHARK_CONFIG_DIR`` at an
  empty temporary directory, so a personal Wireshark profile cannot change the result.

Field names that work (checked with ``tshark -G fields``) and the form of their values
---------------------------------------------------------------------------------------
* M3UA: ``m3ua.message_class`` / ``m3ua.message_type`` ("1"/"1" for DATA),
  ``m3ua.routing_context``, ``m3ua.protocol_data_opc`` / ``_dpc`` / ``_si`` / ``_ni``.
* SCCP: ``sccp.message_type`` as hex ("0x09" UDT, "0x0a" UDTS, "0x11" XUDT, "0x12"
  XUDTS), ``sccp.class``, ``sccp.return_cause``, ``sccp.called.digits`` /
  ``sccp.calling.digits`` ("46708100100"), ``sccp.called.ssn`` / ``sccp.calling.ssn``
  ("6", "8"), ``sccp.called.gti`` / ``.nai`` / ``.ri``.
* TCAP message type: which of ``tcap.begin_element``, ``tcap.continue_element``,
  ``tcap.end_element``, ``tcap.abort_element`` is present (value "1"); see
  :func:`tcap_message_type`. Transaction ids ``tcap.otid`` / ``tcap.dtid`` as hex
  ("00000001"); ``tcap.tid`` repeats the one that identifies the dialogue.
* Dialogue portion: ``tcap.oid`` ("0.0.17.773.1.1.1", id-as-dialogue),
  ``tcap.application_context_name`` ("0.4.0.0.1.0.20.3" = shortMsgGatewayContext-v3),
  ``tcap.dialogueRequest_element`` (AARQ) / ``tcap.dialogueResponse_element`` (AARE) /
  ``tcap.dialogueAbort_element`` (ABRT), ``tcap.result`` ("0" accepted, "1"
  reject-permanent), ``tcap.dialogue_service_user`` ("2" = application-context-name-
  not-supported), ``tcap.dialogue_service_provider``, ``tcap.abort_source``.
* Abort: ``tcap.reason`` holds the BER tag of the chosen reason ("10" p-abortCause,
  "11" u-abortCause, i.e. a dialogue portion); ``tcap.p_abortCause`` ("1" =
  unrecognizedTransactionID). MAP's own dialogue PDUs: ``gsm_map.dialogue.*``
  (``map_refuse_element``, ``reason``, ``map_userAbort_element``, ...).
* Components, once GSM MAP has claimed them, are ``gsm_old.*``, not ``tcap.*`` (the
  ``tcap.invoke_element`` / ``tcap.reject_element`` family stays empty then):
  ``gsm_map.old.Component`` ("1" invoke, "2" returnResultLast, "3" returnError,
  "4" reject, "5" returnResultNotLast), ``gsm_old.invoke_element``,
  ``gsm_old.returnResultLast_element``, ``gsm_old.returnError_element``,
  ``gsm_old.reject_element``, ``gsm_old.invokeID``.
* The operation code and the error code are both ``gsm_old.localValue`` ("45" for
  sendRoutingInfoForSM in an invoke or a result, "6" for absentSubscriberSM in a
  returnError); ``gsm_old.opCode`` / ``gsm_old.errorCode`` only hold the CHOICE index
  ("0" = localValue), so tell the two apart by the component type.
* Reject: ``gsm_old.invokeIDRej`` (CHOICE index, "0" derivable), ``gsm_old.derivable``
  (the invoke id), ``gsm_old.problem`` (CHOICE index: 0 general, 1 invoke, 2
  returnResult, 3 returnError) and the value in ``gsm_old.generalProblem`` /
  ``gsm_old.invokeProblem`` / ``gsm_old.returnResultProblem`` /
  ``gsm_old.returnErrorProblem``.
* SRI-SM (TS 29.002 §12.1): ``gsm_map.sm.msisdn``, ``gsm_map.sm.serviceCentreAddress``,
  ``gsm_map.sm.networkNode_Number``, ``gsm_map.sm.imsi`` hold the raw octets in hex
  ("916407989900f1": 0x91 = international/E.164, then TBCD); ``gsm_map.sm.sm_RP_PRI``
  ("1"). The decoded digits are ``e212.imsi`` ("240080000000100", plus ``e212.mcc`` /
  ``e212.mnc``) and ``e164.msisdn``, which lists the digits of *every*
  ISDN-AddressString in the frame in order: [msisdn, serviceCentreAddress] in the
  argument, [networkNode-Number] in the result.
* Damage: ``_ws.malformed`` is present (its first value is the summary text) when a
  dissector hit a malformed packet; ``_ws.expert.severity`` lists each expert item's
  severity ("8388608" = 0x00800000 = error, 0x00600000 = warning) with
  ``_ws.expert.message``. :func:`has_malformed` looks at both.

Quirks
------
* has_malformed() is not a full validity check: a TCAP message whose own length runs
  past the end of the SCCP data (e.g. ``62 47`` and nothing else) shows as
  "begin [0 length]" with no malformed flag and no expert item. A component cut short
  inside a well-formed TCAP message is flagged. Always assert the decoded values too.
* tshark prints "Running as user root ..." on stderr when run as root (harmless).
* ``-e`` with a field name tshark does not know fails the whole run ("Some fields
  aren't valid"), which :func:`decode_m3ua` reports as :class:`TsharkError`.
* One tshark run costs about 0.2 s: decode many messages in one call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

M3UA_SCTP_PORT = 2905  # IANA port for M3UA (RFC 4666 §1.3.2.3)
M3UA_PPID = 3  # SCTP payload protocol identifier for M3UA (RFC 4666 §1.4.7)
RUN_TIMEOUT = 60.0

# GSM MAP's default SSN set, pinned so that a personal profile cannot change it.
TSHARK_OPTIONS: tuple[str, ...] = ("-n", "-o", "gsm_map.tcap.ssn:6-9,145,148-150")

# Always requested: has_malformed() and the frame count depend on them.
_ALWAYS: tuple[str, ...] = (
    "frame.number",
    "_ws.malformed",
    "_ws.expert",
    "_ws.expert.message",
    "_ws.expert.severity",
)

FIELDS: tuple[str, ...] = (
    *_ALWAYS,
    # M3UA (RFC 4666 §3.3.1)
    "m3ua.message_class",
    "m3ua.message_type",
    "m3ua.routing_context",
    "m3ua.network_appearance",
    "m3ua.protocol_data_opc",
    "m3ua.protocol_data_dpc",
    "m3ua.protocol_data_si",
    "m3ua.protocol_data_ni",
    "m3ua.error_code",
    # SCCP (Q.713)
    "sccp.message_type",
    "sccp.class",
    "sccp.return_cause",
    "sccp.called.ri",
    "sccp.called.gti",
    "sccp.called.nai",
    "sccp.called.ssn",
    "sccp.called.digits",
    "sccp.calling.ri",
    "sccp.calling.gti",
    "sccp.calling.nai",
    "sccp.calling.ssn",
    "sccp.calling.digits",
    # TCAP (Q.773)
    "tcap.begin_element",
    "tcap.continue_element",
    "tcap.end_element",
    "tcap.abort_element",
    "tcap.unidirectional_element",
    "tcap.otid",
    "tcap.dtid",
    "tcap.tid",
    "tcap.oid",
    "tcap.application_context_name",
    "tcap.dialogueRequest_element",
    "tcap.dialogueResponse_element",
    "tcap.dialogueAbort_element",
    "tcap.result",
    "tcap.dialogue_service_user",
    "tcap.dialogue_service_provider",
    "tcap.abort_source",
    "tcap.reason",
    "tcap.p_abortCause",
    "tcap.invoke_element",
    "tcap.returnResultLast_element",
    "tcap.returnError_element",
    "tcap.reject_element",
    "tcap.localValue",
    "tcap.generalProblem",
    "tcap.invokeProblem",
    "tcap.returnResultProblem",
    "tcap.returnErrorProblem",
    # GSM MAP components and dialogue PDUs (TS 29.002)
    "gsm_map.old.Component",
    "gsm_old.invoke_element",
    "gsm_old.returnResultLast_element",
    "gsm_old.returnError_element",
    "gsm_old.reject_element",
    "gsm_old.invokeID",
    "gsm_old.opCode",
    "gsm_old.errorCode",
    "gsm_old.localValue",
    "gsm_old.invokeIDRej",
    "gsm_old.derivable",
    "gsm_old.problem",
    "gsm_old.generalProblem",
    "gsm_old.invokeProblem",
    "gsm_old.returnResultProblem",
    "gsm_old.returnErrorProblem",
    "gsm_map.dialogue.map_refuse_element",
    "gsm_map.dialogue.reason",
    "gsm_map.dialogue.map_userAbort_element",
    "gsm_map.dialogue.map_providerAbort_element",
    # SendRoutingInfoForSM (TS 29.002 §12.1)
    "gsm_map.sm.msisdn",
    "gsm_map.sm.sm_RP_PRI",
    "gsm_map.sm.serviceCentreAddress",
    "gsm_map.sm.imsi",
    "gsm_map.sm.locationInfoWithLMSI_element",
    "gsm_map.sm.networkNode_Number",
    "gsm_map.sm.lmsi",
    "e164.msisdn",
    "e212.imsi",
    "e212.mcc",
    "e212.mnc",
)

_TCAP_MESSAGE_TYPES: tuple[tuple[str, str], ...] = (
    ("tcap.begin_element", "begin"),
    ("tcap.continue_element", "continue"),
    ("tcap.end_element", "end"),
    ("tcap.abort_element", "abort"),
    ("tcap.unidirectional_element", "unidirectional"),
)

# gsm_map.old.Component values (the ROS component CHOICE as Wireshark numbers it).
MAP_COMPONENT_TYPES: Mapping[str, str] = {
    "1": "invoke",
    "2": "returnResultLast",
    "3": "returnError",
    "4": "reject",
    "5": "returnResultNotLast",
}

EXPERT_SEVERITY_ERROR = 0x00800000  # PI_ERROR in Wireshark's epan/proto.h

Frame = dict[str, list[str]]


class TsharkError(RuntimeError):
    """tshark or text2pcap is missing, failed, or did not decode every message."""


def decode_m3ua(messages: Sequence[bytes], fields: Iterable[str] = FIELDS) -> list[Frame]:
    """Decode each M3UA message with tshark; one dict per message, field -> values.

    Every requested field is a key; its list is empty when the frame does not have it.
    """
    if not messages:
        return []
    wanted = list(dict.fromkeys((*_ALWAYS, *fields)))
    text2pcap = _tool("text2pcap")
    tshark = _tool("tshark")
    with tempfile.TemporaryDirectory(prefix="numlookup-tshark-") as tmp:
        work = Path(tmp)
        dump = work / "in.txt"
        pcap = work / "out.pcap"
        profile = work / "profile"
        profile.mkdir()
        dump.write_text(hexdump(messages), encoding="ascii")
        _run(
            [
                text2pcap,
                "-q",
                "-S",
                f"{M3UA_SCTP_PORT},{M3UA_SCTP_PORT},{M3UA_PPID}",
                str(dump),
                str(pcap),
            ],
            profile,
        )
        out = _run(
            [
                tshark,
                *TSHARK_OPTIONS,
                "-r",
                str(pcap),
                "-T",
                "json",
                *(arg for field in wanted for arg in ("-e", field)),
            ],
            profile,
        )
    try:
        packets = json.loads(out)
    except json.JSONDecodeError as exc:
        raise TsharkError(f"tshark printed something that is not JSON: {out[:200]!r}") from exc
    frames = [_frame(packet, wanted) for packet in packets]
    if len(frames) != len(messages):
        raise TsharkError(f"{len(messages)} messages written, tshark read {len(frames)} frames")
    return frames


def hexdump(messages: Sequence[bytes]) -> str:
    """The text2pcap input: one block per message, offsets restarting at 0."""
    lines: list[str] = []
    for message in messages:
        if not message:
            raise ValueError("text2pcap cannot write an empty packet")
        for offset in range(0, len(message), 16):
            chunk = message[offset : offset + 16]
            lines.append(f"{offset:06x} " + " ".join(f"{octet:02x}" for octet in chunk))
        lines.append("")
    return "\n".join(lines) + "\n"


def has_malformed(frame: Mapping[str, Sequence[str]]) -> bool:
    """True when a dissector flagged the frame malformed or raised an error-level item."""
    if frame.get("_ws.malformed"):
        return True
    return any(int(sev, 0) >= EXPERT_SEVERITY_ERROR for sev in frame.get("_ws.expert.severity", []))


def tcap_message_type(frame: Mapping[str, Sequence[str]]) -> str | None:
    """'begin', 'continue', 'end', 'abort' or 'unidirectional'; None without TCAP."""
    found = [name for field, name in _TCAP_MESSAGE_TYPES if frame.get(field)]
    if len(found) > 1:
        raise TsharkError(f"more than one TCAP message type in one frame: {found}")
    return found[0] if found else None


def map_components(frame: Mapping[str, Sequence[str]]) -> list[str]:
    """The GSM MAP component types in the frame, e.g. ['invoke'] or ['returnError']."""
    return [
        MAP_COMPONENT_TYPES.get(value, value) for value in frame.get("gsm_map.old.Component", [])
    ]


def _frame(packet: object, wanted: Sequence[str]) -> Frame:
    layers: object = packet
    for key in ("_source", "layers"):
        if not isinstance(layers, dict) or key not in layers:
            raise TsharkError(f"unexpected tshark JSON layout: {str(packet)[:200]}")
        layers = layers[key]
    assert isinstance(layers, dict)
    frame: Frame = {}
    for field in wanted:
        values = layers.get(field, [])
        frame[field] = [str(v) for v in values] if isinstance(values, list) else [str(values)]
    return frame


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TsharkError(
            f"{name} is not installed: the SS7 tests need tshark and text2pcap "
            "(Debian package 'tshark'; .ci/run installs it)"
        )
    return path


def _run(argv: list[str], profile: Path) -> str:
    # An empty configuration directory: no personal preferences, nothing written to ~.
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(profile)}
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TsharkError(f"{argv[0]} did not finish within {RUN_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        raise TsharkError(
            f"{Path(argv[0]).name} exited with {done.returncode}: {done.stderr.strip()}"
        )
    return done.stdout
