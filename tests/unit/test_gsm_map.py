"""TS 29.002 MAP codec for SendRoutingInfoForSM: numbers, argument, result, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrate_asn1dir import TCAP_MAPv2v3

from numlookup.errors import CodecError
from numlookup.ss7 import gsm_map, tcap
from numlookup.ss7.gsm_map import MapError, RoutingInfoForSmArg, RoutingInfoForSmRes

VECTORS = Path(__file__).parent.parent / "vectors" / "tcap"
ARG_V3 = TCAP_MAPv2v3.MAP_SM_DataTypes.RoutingInfoForSM_Arg
ARG_V2 = TCAP_MAPv2v3.MAPv2_SM_DataTypes.RoutingInfoForSM_Arg
RES_V3 = TCAP_MAPv2v3.MAP_SM_DataTypes.RoutingInfoForSM_Res
RES_V2 = TCAP_MAPv2v3.MAPv2_SM_DataTypes.RoutingInfoForSM_Res


def pycrate_encode(type_: Any, value: Any) -> bytes:
    type_.set_val(value)
    return bytes(type_.to_ber())


def pycrate_decode(type_: Any, data: bytes) -> Any:
    type_.from_ber(data)
    return type_.get_val()


def tbcd(data: bytes) -> str:
    """An independent TBCD reader for the oracle checks (digits only)."""
    out = ""
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble != 0x0F:
                out += "0123456789*#abc"[nibble]
    return out


def parameter(name: str) -> bytes:
    message = tcap.decode(bytes.fromhex((VECTORS / f"{name}.hex").read_text()))
    assert not isinstance(message, tcap.Abort)
    component = message.components[0]
    assert not isinstance(component, tcap.Reject) and component.parameter is not None
    return component.parameter


# --- Numbers (§17.7.8) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "encoded"),
    [
        ("46708100100", "916407180001f0"),
        ("4670810010", "916407180001"),
        ("1", "91f1"),
        ("*#abc0", "91badc0e"),
    ],
)
def test_address(digits: str, encoded: str) -> None:
    assert gsm_map.encode_address(digits).hex() == encoded
    assert gsm_map.decode_address(bytes.fromhex(encoded)) == digits


def test_address_nature_is_kept_apart() -> None:
    assert gsm_map.encode_address("1234", nature=0x81).hex() == "812143"  # unknown nature
    assert gsm_map.decode_address(bytes.fromhex("812143")) == "1234"
    assert gsm_map.decode_address(b"\x91") == ""  # no digits at all


@pytest.mark.parametrize("digits", ["", "12d4", "12f", "+4670", "١٢٣", "1" * 39])
def test_address_refused(digits: str) -> None:
    with pytest.raises(CodecError):
        gsm_map.encode_address(digits)


@pytest.mark.parametrize("hex_data", ["", "91f1f1", "91" + "11" * 20])
def test_address_refused_on_decode(hex_data: str) -> None:
    with pytest.raises(CodecError) as info:
        gsm_map.decode_address(bytes.fromhex(hex_data))
    assert info.value.layer == "map"


@given(st.text("0123456789*#abc", min_size=1, max_size=38))
def test_address_round_trip(digits: str) -> None:
    encoded = gsm_map.encode_address(digits)
    assert tbcd(encoded[1:]) == digits
    assert gsm_map.decode_address(encoded) == digits


def test_imsi() -> None:
    assert gsm_map.encode_imsi("240080012345678").hex() == "42000810325476f8"
    assert gsm_map.decode_imsi(bytes.fromhex("42000810325476f8")) == "240080012345678"
    assert gsm_map.decode_imsi(bytes.fromhex("420008103254")) == "240080012345"
    for bad in ("", "2400", "24008001234567890", "24008a", "２４００８００１"):
        with pytest.raises(CodecError):
            gsm_map.encode_imsi(bad)
    for data in ("4200", "42000810325476f8f0", "42000810325476fa", "4200f8103254"):
        with pytest.raises(CodecError):
            gsm_map.decode_imsi(bytes.fromhex(data))


# --- RoutingInfoForSM-Arg (§17.7.6) ------------------------------------------------


def test_sri_sm_arg_vector() -> None:
    data = parameter("begin_v3")
    assert gsm_map.encode_sri_sm_arg("46708100100", "46700000099") == data
    assert gsm_map.decode_sri_sm_arg(data) == RoutingInfoForSmArg(
        "46708100100", True, "46700000099"
    )


msisdns = st.text("0123456789", min_size=1, max_size=15)
addresses = st.text("0123456789", min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(msisdns, addresses, st.booleans())
def test_sri_sm_arg_against_pycrate(msisdn: str, sca: str, pri: bool) -> None:
    ours = gsm_map.encode_sri_sm_arg(msisdn, sca, pri)
    value = pycrate_decode(ARG_V3, ours)
    assert value == {
        "msisdn": b"\x91" + bytes.fromhex(_swap(msisdn)),
        "sm-RP-PRI": pri,
        "serviceCentreAddress": b"\x91" + bytes.fromhex(_swap(sca)),
    }
    assert pycrate_encode(ARG_V3, value) == ours
    assert gsm_map.decode_sri_sm_arg(ours) == RoutingInfoForSmArg(msisdn, pri, sca)


def _swap(digits: str) -> str:
    padded = digits + "f" * (len(digits) % 2)
    return "".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2))


def test_sri_sm_arg_with_other_fields() -> None:
    # v3 with the fields an SMS-GMSC may add, and v2 with a teleservice.
    v3 = {
        "msisdn": bytes.fromhex("916407180001f0"),
        "sm-RP-PRI": False,
        "serviceCentreAddress": bytes.fromhex("916407000090f9"),
        "extensionContainer": {"pcs-Extensions": {}},
        "gprsSupportIndicator": 0,
        "sm-RP-MTI": 0,
        "sm-RP-SMEA": b"\x01\x02",
        "sm-deliveryNotIntended": "onlyIMSI-requested",
        "imsi": bytes.fromhex("42000810325476f8"),
        "singleAttemptDelivery": 0,
    }
    expected = RoutingInfoForSmArg("46708100100", False, "46700000099", True)
    assert gsm_map.decode_sri_sm_arg(pycrate_encode(ARG_V3, v3)) == expected
    v2 = {
        "msisdn": bytes.fromhex("916407180001f0"),
        "sm-RP-PRI": True,
        "serviceCentreAddress": bytes.fromhex("916407000090f9"),
        "teleservice": b"\x21",
    }
    expected = RoutingInfoForSmArg("46708100100", True, "46700000099")
    assert gsm_map.decode_sri_sm_arg(pycrate_encode(ARG_V2, v2)) == expected


@pytest.mark.parametrize(
    "hex_data",
    [
        "3000",  # nothing
        "300b8101ff8206916407000090f9",  # no msisdn (and a wrong length)
        "30098007916407180001f0",  # no sm-RP-PRI nor serviceCentreAddress
        "31038101ff",  # a SET
        "30038102ffff",  # a two-octet BOOLEAN
    ],
)
def test_sri_sm_arg_refused(hex_data: str) -> None:
    with pytest.raises(CodecError):
        gsm_map.decode_sri_sm_arg(bytes.fromhex(hex_data))


def test_sri_sm_arg_encoder_refuses() -> None:
    with pytest.raises(CodecError):
        gsm_map.encode_sri_sm_arg("1" * 17, "4670")  # ISDN-AddressString: 9 octets
    with pytest.raises(CodecError):
        gsm_map.encode_sri_sm_arg("4670", "46-70")


# --- RoutingInfoForSM-Res (§17.7.6) ------------------------------------------------


def test_sri_sm_res_vectors() -> None:
    data = parameter("end_result")
    assert gsm_map.encode_sri_sm_res("240080012345678", "46700000100", b"\x01\x02\x03\x04") == data
    assert gsm_map.decode_sri_sm_res(parameter("end_result_gprs")) == RoutingInfoForSmRes(
        "240080012345678", "46700000200", None, True, "46700000100"
    )


@settings(max_examples=100, deadline=None)
@given(
    st.text("0123456789", min_size=6, max_size=15),
    msisdns,
    st.none() | st.binary(min_size=4, max_size=4),
)
def test_sri_sm_res_against_pycrate(imsi: str, node: str, lmsi: bytes | None) -> None:
    ours = gsm_map.encode_sri_sm_res(imsi, node, lmsi)
    value = pycrate_decode(RES_V3, ours)
    location = value["locationInfoWithLMSI"]
    assert tbcd(value["imsi"]) == imsi
    assert tbcd(location["networkNode-Number"][1:]) == node
    assert location.get("lmsi") == lmsi
    assert pycrate_encode(RES_V3, value) == ours
    assert gsm_map.decode_sri_sm_res(ours) == RoutingInfoForSmRes(imsi, node, lmsi)


def test_sri_sm_res_with_every_v3_field() -> None:
    diameter = {
        "diameter-Name": b"mme1.epc.mnc008.mcc240.3gppnetwork.org",
        "diameter-Realm": b"epc.mnc008.mcc240.3gppnetwork.org",
    }
    value = {
        "imsi": bytes.fromhex("42000810325476f8"),
        "locationInfoWithLMSI": {
            "networkNode-Number": bytes.fromhex("916407000002f0"),
            "lmsi": b"\x00\x00\x00\x01",
            "extensionContainer": {"pcs-Extensions": {}},
            "gprsNodeIndicator": 0,
            "additional-Number": ("sgsn-Number", bytes.fromhex("916407000001f0")),
            "networkNodeDiameterAddress": diameter,
            "additionalNetworkNodeDiameterAddress": diameter,
            "thirdNumber": ("msc-Number", bytes.fromhex("916407000003f0")),
            "imsNodeIndicator": 0,
        },
        "extensionContainer": {"pcs-Extensions": {}},
        "ip-sm-gwGuidance": {"minimumDeliveryTimeValue": 30, "recommendedDeliveryTimeValue": 60},
    }
    assert gsm_map.decode_sri_sm_res(pycrate_encode(RES_V3, value)) == RoutingInfoForSmRes(
        "240080012345678", "46700000200", b"\x00\x00\x00\x01", True, "46700000100"
    )


def test_sri_sm_res_v2() -> None:
    value = {
        "imsi": bytes.fromhex("42000810325476f8"),
        "locationInfoWithLMSI": {"locationInfo": ("msc-Number", bytes.fromhex("916407000001f0"))},
        "mwd-Set": True,
    }
    assert gsm_map.decode_sri_sm_res(pycrate_encode(RES_V2, value)) == RoutingInfoForSmRes(
        "240080012345678", "46700000100"
    )
    roaming = {
        "imsi": bytes.fromhex("42000810325476f8"),
        "locationInfoWithLMSI": {"locationInfo": ("roamingNumber", b"\x91\x21")},
    }
    result = gsm_map.decode_sri_sm_res(pycrate_encode(RES_V2, roaming))
    assert result.network_node_number is None


@pytest.mark.parametrize(
    "hex_data",
    [
        "3000",
        "300a040842000810325476f8",  # no locationInfoWithLMSI
        "3004a0028100",  # no imsi
        "300ea002 8100 040842000810325476fa",  # IMSI with a non-decimal digit
        "3011040842000810325476f8a0050403010203",  # a three-octet LMSI
        "3010040842000810325476f8a00485020000",  # gprsNodeIndicator with content
        "3012040842000810325476f8a006a6048202 9121",  # additional-Number [2]
        "3010040842000810325476f8a0048102 91f1 00",  # trailing octet after the SEQUENCE
    ],
)
def test_sri_sm_res_refused(hex_data: str) -> None:
    with pytest.raises(CodecError) as info:
        gsm_map.decode_sri_sm_res(bytes.fromhex(hex_data))
    assert info.value.layer in ("map", "ber")


def test_sri_sm_res_encoder_refuses() -> None:
    with pytest.raises(CodecError):
        gsm_map.encode_sri_sm_res("240080012345678", "46700000100", b"\x01")
    with pytest.raises(CodecError):
        gsm_map.encode_sri_sm_res("24008001234567A", "46700000100")


@pytest.mark.parametrize("name", ["begin_v3", "end_result", "end_result_gprs"])
def test_parameters_one_byte_at_a_time(name: str) -> None:
    data = parameter(name)
    decode = gsm_map.decode_sri_sm_arg if name.startswith("begin") else gsm_map.decode_sri_sm_res
    decode(data)
    for size in range(len(data)):
        with pytest.raises(CodecError):
            decode(data[:size])


# --- Errors (§17.6.6) --------------------------------------------------------------


def test_map_errors() -> None:
    assert {e.name: e.value for e in MapError} == {
        "UNKNOWN_SUBSCRIBER": 1,
        "ABSENT_SUBSCRIBER_SM": 6,
        "TELESERVICE_NOT_PROVISIONED": 11,
        "CALL_BARRED": 13,
        "FACILITY_NOT_SUPPORTED": 21,
        "ABSENT_SUBSCRIBER": 27,
        "SYSTEM_FAILURE": 34,
        "DATA_MISSING": 35,
        "UNEXPECTED_DATA_VALUE": 36,
    }
    assert gsm_map.map_error(6) is MapError.ABSENT_SUBSCRIBER_SM
    assert gsm_map.map_error(99) is None


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("end_error_unknown_subscriber", MapError.UNKNOWN_SUBSCRIBER),
        ("end_error_absent_subscriber_sm", MapError.ABSENT_SUBSCRIBER_SM),
        ("end_error_teleservice_not_provisioned", MapError.TELESERVICE_NOT_PROVISIONED),
        ("end_error_call_barred", MapError.CALL_BARRED),
        ("end_error_facility_not_supported", MapError.FACILITY_NOT_SUPPORTED),
        ("end_error_absent_subscriber", MapError.ABSENT_SUBSCRIBER),
        ("end_error_system_failure", MapError.SYSTEM_FAILURE),
        ("end_error_data_missing", MapError.DATA_MISSING),
        ("end_error_unexpected_data_value", MapError.UNEXPECTED_DATA_VALUE),
    ],
)
def test_error_vectors(name: str, error: MapError) -> None:
    message = tcap.decode(bytes.fromhex((VECTORS / f"{name}.hex").read_text()))
    assert isinstance(message, tcap.End)
    (component,) = message.components
    assert isinstance(component, tcap.ReturnError)
    assert gsm_map.map_error(component.error_code) is error
    # What the simulator sends: the same error without a parameter.
    bare = tcap.End(message.dtid, None, (tcap.ReturnError(1, error),))
    assert tcap.decode(tcap.encode(bare)) == bare


def test_application_contexts() -> None:
    assert gsm_map.SEND_ROUTING_INFO_FOR_SM == 45
    assert gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3 == (0, 4, 0, 0, 1, 0, 20, 3)
    assert gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V2 == (0, 4, 0, 0, 1, 0, 20, 2)
    from pycrate_mobile import TS29002_MAPAppCtx

    for acn in (gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V3, gsm_map.SHORT_MSG_GATEWAY_CONTEXT_V2):
        context = TS29002_MAPAppCtx.get_application_ctx(acn)
        (package,) = context["InitiatorConsumerOf"].root
        opcodes = [operation["operationCode"] for operation in package["Supplier"].root]
        assert ("local", gsm_map.SEND_ROUTING_INFO_FOR_SM) in opcodes
