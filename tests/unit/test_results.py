from numlookup.results import Outcome, ResultCode


def test_ok_body_in_field_order() -> None:
    assert Outcome(ResultCode.OK, imsi="24004").body() == b"result=OK;imsi=24004"
    assert len(Outcome(ResultCode.OK, imsi="24004").body()) == 20
    assert (
        Outcome(ResultCode.OK, imsi="24008", location="46").body()
        == b"result=OK;imsi=24008;location=46"
    )


def test_imsi_and_location_only_on_ok() -> None:
    outcome = Outcome(ResultCode.ABSENT_SUBSCRIBER_SM, imsi="24008", location="46")
    assert outcome.body() == b"result=ABSENT_SUBSCRIBER_SM"


def test_parameter_errors_are_the_spec_sentences() -> None:
    assert (
        Outcome(ResultCode.MSISDN_NOT_FOUND).body()
        == b"result=Mandatory parameter msisdn not found"
    )
    assert Outcome(ResultCode.MSISDN_INVALID).body() == b"result=msisdn is invalid"
    assert Outcome(ResultCode.RANGE_NOT_ACCEPTED).body() == b"result=MSISDN range is not accepted"


def test_every_code_of_the_spec_table() -> None:
    spec = [
        "OK",
        "DATA_MISSING",
        "UNKNOWN_SUBSCRIBER",
        "CALL_BARRED",
        "ABSENT_SUBSCRIBER_SM",
        "UNEXPECTED_DATA_VALUE",
        "SYSTEM_FAILURE",
        "FACILITY_NOT_SUPPORTED",
        "TELE_SERVICE_NOT_PROVISIONED",
        "HLR_REJECT",
        "HLR_ABORT",
        "HLR_LOCAL_CANCEL",
        "TIMEOUT",
        "REQUEST_THROTTLED",
        "IMSI_LOOKUP_BLOCKED",
        "Mandatory parameter msisdn not found",
        "MSISDN range is not accepted",
        "msisdn is invalid",
    ]
    assert [code.value for code in ResultCode] == spec
