"""The M3UA ASP state machine, RFC 4666 §4.3: each rule of m3ua_asp's docstring."""

from __future__ import annotations

import pytest

from numlookup.ss7 import m3ua
from numlookup.ss7.m3ua import (
    AffectedPointCode,
    AspActive,
    AspActiveAck,
    AspDown,
    AspDownAck,
    AspInactive,
    AspInactiveAck,
    AspUp,
    AspUpAck,
    Beat,
    BeatAck,
    Data,
    Error,
    Notify,
    ProtocolData,
    Ssnm,
)
from numlookup.ss7.m3ua_asp import AspClient, AspState, SgpServer

DATA = Data(ProtocolData(1, 2, m3ua.SI_SCCP, 2, 0, 0, b"\x09\x00"), 7)
UNEXPECTED = Error(m3ua.ERROR_UNEXPECTED_MESSAGE)


def wire(messages: list[m3ua.Message]) -> list[m3ua.Message]:
    """Through the codec, as the adapter sends them."""
    return [m3ua.decode(m3ua.encode(m)) for m in messages]


def converse(client: AspClient, server: SgpServer, first: list[m3ua.Message]) -> None:
    """Pass messages back and forth until both sides are quiet."""
    to_server = first
    for _ in range(10):
        to_client = [r for m in wire(to_server) for r in server.receive(m)]
        to_server = [r for m in wire(to_client) for r in client.receive(m)]
        if not to_server:
            return
    raise AssertionError("the two sides did not settle")


def active_pair() -> tuple[AspClient, SgpServer]:
    client = AspClient(routing_contexts=(7,), traffic_mode=m3ua.TRAFFIC_MODE_LOADSHARE)
    server = SgpServer(routing_contexts=(7,))
    converse(client, server, client.connected())
    assert client.state is server.state is AspState.ACTIVE
    return client, server


# --- AspClient -------------------------------------------------------------------


def test_c1_to_c3_bring_up() -> None:
    client = AspClient((7, 8), m3ua.TRAFFIC_MODE_OVERRIDE, asp_identifier=5, info_string="n")
    assert client.state is AspState.DOWN
    assert client.connected() == [AspUp(5, "n")]
    assert client.pending == AspUp(5, "n")
    assert client.retransmit() == [AspUp(5, "n")]  # T(ack) ran out
    assert client.receive(AspUpAck()) == [AspActive(m3ua.TRAFFIC_MODE_OVERRIDE, (7, 8), "n")]
    assert client.state is AspState.INACTIVE
    assert client.receive(AspUpAck()) == []  # a repeated ack changes nothing
    assert client.receive(AspActiveAck(m3ua.TRAFFIC_MODE_OVERRIDE, (7, 8))) == []
    assert client.state is AspState.ACTIVE and client.active
    assert client.pending is None and client.retransmit() == []
    assert client.receive(AspActiveAck()) == []
    assert client.receive(AspUpAck()) == []
    assert client.state is AspState.ACTIVE


def test_c4_data_is_delivered_only_when_active() -> None:
    client = AspClient()
    client.connected()
    assert client.receive(DATA) == [UNEXPECTED]
    client.receive(AspUpAck())
    assert client.receive(DATA) == [UNEXPECTED]
    assert client.take_delivered() == []
    client.receive(AspActiveAck())
    assert client.receive(DATA) == []
    assert client.receive(DATA) == []
    assert client.take_delivered() == [DATA, DATA]
    assert client.take_delivered() == []


def test_c5_asp_down() -> None:
    client, _ = active_pair()
    assert client.down() == [AspDown()]
    assert client.receive(AspDownAck()) == []
    assert client.state is AspState.DOWN and client.pending is None


def test_c5_unsolicited_asp_down_ack_brings_us_back_up() -> None:
    client, _ = active_pair()
    assert client.receive(AspDownAck()) == [AspUp()]
    assert client.state is AspState.DOWN
    assert client.receive(AspUpAck()) == [AspActive(m3ua.TRAFFIC_MODE_LOADSHARE, (7,))]


def test_c5_asp_up_refused_with_asp_down_ack_waits_for_t_ack() -> None:
    client = AspClient()
    client.connected()
    assert client.receive(AspDownAck("blocked")) == []  # no tight loop
    assert client.state is AspState.DOWN
    assert client.retransmit() == [AspUp()]


def test_c6_asp_active_refused_waits_for_t_ack() -> None:
    client = AspClient((7,))
    client.connected()
    client.receive(AspUpAck())
    assert client.receive(Error(m3ua.ERROR_INVALID_ROUTING_CONTEXT)) == []
    assert client.receive(AspInactiveAck()) == []
    assert client.state is AspState.INACTIVE
    assert client.retransmit() == [AspActive(None, (7,))]


def test_c6_asp_inactive() -> None:
    client, _ = active_pair()
    assert client.deactivate() == [AspInactive((7,))]
    assert client.receive(AspInactiveAck((7,))) == []
    assert client.state is AspState.INACTIVE
    assert client.deactivate() == []  # not active: nothing to do


def test_c6_unsolicited_asp_inactive_ack_makes_us_ask_again() -> None:
    client, _ = active_pair()
    assert client.receive(AspInactiveAck()) == [AspActive(m3ua.TRAFFIC_MODE_LOADSHARE, (7,))]
    assert client.state is AspState.INACTIVE


def test_c7_notify_is_recorded_and_alternate_asp_active_deactivates() -> None:
    client, _ = active_pair()
    assert client.as_state == m3ua.AS_ACTIVE
    pending = Notify(m3ua.STATUS_AS_STATE_CHANGE, m3ua.AS_PENDING)
    assert client.receive(pending) == []
    assert client.as_state == m3ua.AS_PENDING and client.last_notify == pending
    assert client.state is AspState.ACTIVE
    assert client.receive(Notify(m3ua.STATUS_OTHER, m3ua.OTHER_ALTERNATE_ASP_ACTIVE)) == []
    assert client.state is AspState.INACTIVE
    assert client.receive(DATA) == [UNEXPECTED]


def test_c8_destination_availability() -> None:
    client, _ = active_pair()
    pcs = (AffectedPointCode(100), AffectedPointCode(200), AffectedPointCode(0x300, 8))
    assert client.receive(Ssnm(m3ua.SSNM_DUNA, pcs)) == []
    assert client.unavailable_point_codes == {100, 200}  # a masked entry is a cluster
    client.receive(Ssnm(m3ua.SSNM_DAVA, (AffectedPointCode(100),)))
    assert client.unavailable_point_codes == {200}
    client.receive(Ssnm(m3ua.SSNM_DRST, (AffectedPointCode(200),)))
    assert client.unavailable_point_codes == set()
    client.receive(Ssnm(m3ua.SSNM_SCON, (AffectedPointCode(5),)))
    assert client.last_ssnm == Ssnm(m3ua.SSNM_SCON, (AffectedPointCode(5),))


def test_disconnected_and_reconnected() -> None:
    client, _ = active_pair()
    client.heartbeat()
    client.disconnected()
    assert client.state is AspState.DOWN and client.pending is None
    assert client.unacknowledged_beats == 0
    assert client.receive(DATA) == [UNEXPECTED]
    assert client.connected() == [AspUp()]


# --- SgpServer -------------------------------------------------------------------


def test_s1_asp_up() -> None:
    server = SgpServer()
    assert server.receive(AspUp(9)) == [
        AspUpAck(),
        Notify(m3ua.STATUS_AS_STATE_CHANGE, m3ua.AS_INACTIVE, 9),
    ]
    assert server.state is AspState.INACTIVE and server.asp_identifier == 9
    assert server.receive(AspUp(9)) == [AspUpAck()]
    server.receive(AspActive())
    assert server.receive(AspUp(9)) == [AspUpAck(), UNEXPECTED]
    assert server.state is AspState.INACTIVE


def test_s1_without_notify() -> None:
    server = SgpServer(notify=False)
    assert server.receive(AspUp()) == [AspUpAck()]
    assert server.receive(AspActive(None, (3,))) == [AspActiveAck(None, (3,))]


def test_s2_asp_active() -> None:
    server = SgpServer(routing_contexts=(7, 8))
    assert server.receive(AspActive()) == [UNEXPECTED]  # ASP-DOWN
    server.receive(AspUp())
    assert server.receive(AspActive(4)) == [Error(m3ua.ERROR_UNSUPPORTED_TRAFFIC_MODE_TYPE)]
    assert server.receive(AspActive(1, (7, 9))) == [
        Error(m3ua.ERROR_INVALID_ROUTING_CONTEXT, routing_contexts=(9,))
    ]
    assert server.state is AspState.INACTIVE
    assert server.receive(AspActive(2, (7,))) == [
        AspActiveAck(2, (7,)),
        Notify(m3ua.STATUS_AS_STATE_CHANGE, m3ua.AS_ACTIVE, None, (7,)),
    ]
    assert server.state is AspState.ACTIVE
    assert server.receive(AspActive()) == [
        AspActiveAck(),
        Notify(m3ua.STATUS_AS_STATE_CHANGE, m3ua.AS_ACTIVE, None, (7, 8)),
    ]


def test_s3_asp_inactive() -> None:
    _, server = active_pair()
    assert server.receive(AspInactive((7,))) == [AspInactiveAck((7,))]
    assert server.state is AspState.INACTIVE
    assert server.receive(AspInactive()) == [AspInactiveAck()]
    server.receive(AspDown())
    assert server.receive(AspInactive()) == [UNEXPECTED]


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_s4_asp_down_in_any_state(steps: int) -> None:
    server = SgpServer()
    for message in [AspUp(), AspActive()][:steps]:
        server.receive(message)
    assert server.receive(AspDown()) == [AspDownAck()]
    assert server.state is AspState.DOWN


def test_s5_data_only_when_active() -> None:
    server = SgpServer()
    assert server.receive(DATA) == [UNEXPECTED]
    server.receive(AspUp())
    assert server.receive(DATA) == [UNEXPECTED]
    server.receive(AspActive())
    assert server.receive(DATA) == []
    assert server.take_delivered() == [DATA]


# --- both sides -------------------------------------------------------------------


@pytest.mark.parametrize("side", [AspClient, SgpServer])
def test_a1_a2_heartbeat(side: type[AspClient] | type[SgpServer]) -> None:
    us = side()
    assert us.receive(Beat(b"ping")) == [BeatAck(b"ping")]
    assert us.receive(Beat()) == [BeatAck()]
    first = us.heartbeat()
    second = us.heartbeat()
    assert first.data != second.data
    assert us.unacknowledged_beats == 2
    assert us.receive(BeatAck(first.data)) == []
    assert us.unacknowledged_beats == 2  # an old ack does not count
    assert us.receive(BeatAck(second.data)) == []
    assert us.unacknowledged_beats == 0


@pytest.mark.parametrize("side", [AspClient, SgpServer])
def test_a3_errors_are_recorded_never_answered(side: type[AspClient] | type[SgpServer]) -> None:
    us = side()
    for state_changer in ([], [AspUp()], [AspUp(), AspActive()]):
        for message in state_changer:
            if isinstance(us, SgpServer):
                us.receive(message)
        assert us.receive(Error(m3ua.ERROR_NO_CONFIGURED_AS_FOR_ASP)) == []
    assert us.last_error == Error(m3ua.ERROR_NO_CONFIGURED_AS_FOR_ASP)
    assert us.errors_received == 3


def test_a4_messages_for_the_other_side_are_unexpected() -> None:
    client = AspClient()
    for message in (AspUp(), AspActive(), AspDown(), AspInactive()):
        assert client.receive(message) == [UNEXPECTED]
    server = SgpServer()
    for message in (AspUpAck(), AspActiveAck(), AspDownAck(), AspInactiveAck()):
        assert server.receive(message) == [UNEXPECTED]
    assert server.receive(Ssnm(m3ua.SSNM_DUNA, (AffectedPointCode(1),))) == [UNEXPECTED]
    assert server.receive(Notify(1, 2)) == []


def test_a_whole_session_through_the_codec() -> None:
    client, server = active_pair()
    assert wire(server.receive(DATA)) == []
    assert server.take_delivered() == [DATA]
    back = Data(ProtocolData(2, 1, m3ua.SI_SCCP, 2, 0, 0, b"\x09\x01"), 7)
    assert client.receive(wire([back])[0]) == []
    assert client.take_delivered() == [back]
    converse(client, server, [client.heartbeat()])
    assert client.unacknowledged_beats == 0
    converse(client, server, client.down())
    assert client.state is server.state is AspState.DOWN
