"""Time the TCAP/MAP codec on the Real-Time Lookup's hot path, against pycrate.

    .venv/bin/python bench/ss7_codec.py

One round trip is what a lookup costs these two layers: encode a TC-BEGIN with
an AARQ (shortMsgGatewayContext v3) and a SendRoutingInfoForSM invoke, then
decode a TC-END with an AARE and a ReturnResultLast carrying
RoutingInfoForSM-Res, down to the IMSI and the network node number. pycrate
(TCAP_MAPv2v3) does the same work from the same values. Prints µs per round
trip (best of five runs) for each, the ratio, and round trips per second.
"""

from __future__ import annotations

import timeit

from numlookup.ss7 import gsm_map, tcap

MSISDN = "46708100100"
OUR_GT = "46700000099"
IMSI = "240081234567890"
NODE = "46700000001"
OTID = b"\x00\x01\x02\x03"


def end_pdu() -> bytes:
    """The HLR's answer, made by our encoder (checked against pycrate in the tests)."""
    result = gsm_map.encode_sri_sm_res(IMSI, NODE)
    component = tcap.ReturnResultLast(1, gsm_map.SEND_ROUTING_INFO_FOR_SM, result)
    aare = tcap.AARE(gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3)
    return tcap.encode(tcap.End(OTID, aare, (component,)))


END = end_pdu()


def ours() -> tuple[str, str | None]:
    argument = gsm_map.encode_sri_sm_arg(MSISDN, OUR_GT)
    invoke = tcap.Invoke(1, gsm_map.SEND_ROUTING_INFO_FOR_SM, argument)
    aarq = tcap.AARQ(gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3)
    tcap.encode(tcap.Begin(OTID, aarq, (invoke,)))
    message = tcap.decode(END)
    assert isinstance(message, tcap.End)
    component = message.components[0]
    assert isinstance(component, tcap.ReturnResultLast) and component.parameter is not None
    res = gsm_map.decode_sri_sm_res(component.parameter)
    return res.imsi, res.network_node_number


def make_pycrate() -> object:
    from pycrate_asn1dir import TCAP_MAPv2v3

    pdu = TCAP_MAPv2v3.TCAP_MAP_Messages.TCAP_MAP_Message

    def round_trip() -> tuple[str, str | None]:
        argument = {
            "msisdn": gsm_map.encode_address(MSISDN),
            "sm-RP-PRI": True,
            "serviceCentreAddress": gsm_map.encode_address(OUR_GT),
        }
        invoke = {
            "invokeId": ("present", 1),
            "opcode": ("local", gsm_map.SEND_ROUTING_INFO_FOR_SM),
            "argument": (("MAP-SM-DataTypes", "RoutingInfoForSM-Arg"), argument),
        }
        request = (
            "dialogueRequest",
            {
                "protocol-version": (1, 1),
                "application-context-name": gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3,
            },
        )
        begin = {
            "otid": OTID,
            "dialoguePortion": {
                "direct-reference": tcap.DIALOGUE_AS_ID,
                "encoding": ("single-ASN1-type", ("DialoguePDU", request)),
            },
            "components": [("basicROS", ("invoke", invoke))],
        }
        pdu.set_val(("begin", begin))
        pdu.to_ber()
        pdu.from_ber(END)
        _, end = pdu.get_val()
        _, (_, result) = end["components"][0]
        _, res = result["result"]["result"]
        imsi = gsm_map.decode_tbcd(res["imsi"])
        node = gsm_map.decode_address(res["locationInfoWithLMSI"]["networkNode-Number"])
        return imsi, node

    return round_trip


def per_call(function: object, number: int) -> float:
    """The best of five runs, in µs per call."""
    timer = timeit.Timer("f()", globals={"f": function})
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    theirs = make_pycrate()
    expected = (IMSI, NODE)
    assert ours() == expected, ours()
    assert theirs() == expected, theirs()  # type: ignore[operator]
    ours_us = per_call(ours, 20_000)
    theirs_us = per_call(theirs, 300)
    print("TCAP+MAP round trip: Begin(AARQ v3, SRI-SM invoke) encode + End(AARE, result) decode")
    print(f"{'codec':10} {'µs':>9} {'per second':>12}")
    print(f"{'numlookup':10} {ours_us:9.2f} {1e6 / ours_us:12,.0f}")
    print(f"{'pycrate':10} {theirs_us:9.2f} {1e6 / theirs_us:12,.0f}")
    print(f"ratio: numlookup is {theirs_us / ours_us:.0f}x faster than pycrate")


if __name__ == "__main__":
    main()
