"""Osmocom IPA framing, the CCM codec and the client's handshake."""

from __future__ import annotations

import pytest

from numlookup.errors import CodecError
from numlookup.ss7 import ipa, sccp
from numlookup.ss7.ipa import Ccm, IpaClient, IpaClientState, IpaFramer

# libosmocore src/gsm/ipa.c: what osmo-stp's IPA server sends and answers
ID_GET_FROM_OSMOCORE = bytes(
    (0, 17, 0xFE, 0x04, 1, 8, 1, 7, 1, 2, 1, 3, 1, 4, 1, 5, 1, 1, 1, 0)
)  # ipa_id_req_msg
PONG_FROM_OSMOCORE = bytes((0, 1, 0xFE, 0x01))  # ipa_pong_msg
ID_ACK_FROM_OSMOCORE = bytes((0, 1, 0xFE, 0x06))  # ipa_id_ack_msg
UDT = sccp.encode_unitdata(
    sccp.SccpAddress("46701234567", 6), sccp.SccpAddress("46700000001", 8), b"\x62\x00"
)


def test_encode_frames_payload_with_length_and_stream() -> None:
    assert ipa.encode(ipa.STREAM_SCCP, UDT) == len(UDT).to_bytes(2, "big") + b"\xfd" + UDT
    assert ipa.pong() == PONG_FROM_OSMOCORE
    assert ipa.id_ack() == ID_ACK_FROM_OSMOCORE
    assert ipa.ping() == bytes((0, 1, 0xFE, 0x00))
    assert ipa.encode(ipa.STREAM_SCCP, bytes(0xFFFF))[:3] == b"\xff\xff\xfd"
    with pytest.raises(ValueError):
        ipa.encode(ipa.STREAM_SCCP, bytes(0x10000))


def test_id_get_as_osmocore_builds_it() -> None:
    tags = (8, 7, 2, 3, 4, 5, 1, 0)
    assert ipa.id_get(tags) == ID_GET_FROM_OSMOCORE


def test_id_resp_as_osmocore_builds_it() -> None:
    # ipa_ccm_make_id_resp: 0x00, 1 + strlen + 1, tag, the string and its NUL
    frame = ipa.id_resp("numlookup")
    assert frame == b"\x00\x0e\xfe\x05\x00\x0b\x01numlookup\x00"
    ((stream, payload),) = IpaFramer().feed(frame)
    assert stream == ipa.STREAM_CCM
    message = ipa.decode_ccm(payload)
    assert message == Ccm(ipa.CCM_ID_RESP, ((ipa.IDTAG_UNIT_NAME, b"numlookup\x00"),))
    assert ipa.unit_name(message) == "numlookup"
    assert ipa.encode_ccm(message) == payload


def test_ccm_codec_round_trips() -> None:
    for message in (
        Ccm(ipa.CCM_PING),
        Ccm(ipa.CCM_ID_GET, ((1, b""), (8, b""))),
        Ccm(ipa.CCM_ID_RESP, ((1, b"stp\x00"), (8, b"0/0/0\x00"), (0, b""))),
        Ccm(ipa.CCM_ID_NACK),
    ):
        assert ipa.decode_ccm(ipa.encode_ccm(message)) == message
    assert ipa.unit_name(Ccm(ipa.CCM_ID_RESP, ((8, b"0/0/0\x00"),))) is None


@pytest.mark.parametrize(
    "payload",
    ["", "0401", "040008", "0402", "0500", "050001", "05000501414141", "05000001"],
)
def test_bad_ccm_raises_codec_error(payload: str) -> None:
    with pytest.raises(CodecError) as caught:
        ipa.decode_ccm(bytes.fromhex(payload))
    assert caught.value.layer == "ipa"


def test_framer_one_byte_at_a_time() -> None:
    stream = (
        ID_GET_FROM_OSMOCORE
        + ipa.encode(ipa.STREAM_SCCP, UDT)
        + ipa.encode(ipa.STREAM_OSMO, b"")
        + PONG_FROM_OSMOCORE
    )
    framer = IpaFramer()
    frames: list[tuple[int, bytes]] = []
    for i in range(len(stream)):
        frames += framer.feed(stream[i : i + 1])
    assert frames == [
        (ipa.STREAM_CCM, ID_GET_FROM_OSMOCORE[3:]),
        (ipa.STREAM_SCCP, UDT),
        (ipa.STREAM_OSMO, b""),
        (ipa.STREAM_CCM, b"\x01"),
    ]
    assert framer.buffered == 0
    assert sccp.decode(frames[1][1]).called.digits == "46701234567"


def test_framer_many_frames_at_once_and_a_partial_one() -> None:
    frame = ipa.encode(ipa.STREAM_SCCP, UDT)
    framer = IpaFramer()
    assert framer.feed(frame * 3 + frame[:5]) == [(ipa.STREAM_SCCP, UDT)] * 3
    assert framer.buffered == 5
    assert framer.feed(frame[5:]) == [(ipa.STREAM_SCCP, UDT)]


def test_framer_limit() -> None:
    framer = IpaFramer(max_payload=100)
    assert framer.feed(ipa.encode(ipa.STREAM_SCCP, bytes(100))) == [(ipa.STREAM_SCCP, bytes(100))]
    with pytest.raises(CodecError):
        framer.feed(ipa.encode(ipa.STREAM_SCCP, bytes(101))[:3])
    with pytest.raises(CodecError):
        framer.feed(ipa.pong())  # the stream cannot be trusted any more


def test_client_handshake_with_osmo_stp() -> None:
    """libosmo-sigtran's IPA server: ID_GET, our ID_RESP, its ID_ACK, our ID_ACK."""
    client = IpaClient("numlookup")
    assert client.state is IpaClientState.WAIT_ID_GET and not client.active
    (_, get), *_ = IpaFramer().feed(ID_GET_FROM_OSMOCORE)
    assert client.receive(get) == [ipa.id_resp("numlookup")]
    assert client.state is IpaClientState.WAIT_ID_ACK
    assert client.receive(b"\x06") == [ID_ACK_FROM_OSMOCORE]
    assert client.active
    # a server answering every ID_ACK must not start an endless exchange
    assert client.receive(b"\x06") == []


def test_client_accepts_id_ack_without_id_get() -> None:
    client = IpaClient("x")
    assert client.receive(b"\x06") == [ID_ACK_FROM_OSMOCORE]
    assert client.active
    assert client.receive(ID_GET_FROM_OSMOCORE[3:]) == [ipa.id_resp("x")]
    assert client.active


def test_client_keepalive() -> None:
    client = IpaClient("x")
    assert client.receive(b"\x00") == [PONG_FROM_OSMOCORE]
    assert client.ping() == ipa.ping()
    assert client.ping() == ipa.ping()
    assert client.unanswered_pings == 2
    assert client.receive(b"\x01") == []
    assert client.unanswered_pings == 0
    assert client.receive(b"\x07") == []  # ID_NACK: nothing to answer
    client.receive(b"\x06")
    client.disconnected()
    assert client.state is IpaClientState.WAIT_ID_GET


def test_client_refuses_bad_ccm() -> None:
    with pytest.raises(CodecError):
        IpaClient("x").receive(b"")
