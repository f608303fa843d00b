"""Random and mutated PDUs into every SIGTRAN decoder, framer and state machine.

Whatever the octets, the only exception allowed out is the codec's own:
CodecError (M3uaError for M3UA). And any valid message survives encode/decode.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numlookup.errors import CodecError
from numlookup.ss7 import ipa, m3ua, sccp
from numlookup.ss7.m3ua import M3uaError
from numlookup.ss7.m3ua_asp import AspClient, SgpServer

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VECTORS = Path(__file__).parent.parent / "vectors"
SCCP_VECTORS = [bytes.fromhex(p.read_text()) for p in sorted((VECTORS / "sccp").glob("*.hex"))]
M3UA_VECTORS = [bytes.fromhex(p.read_text()) for p in sorted((VECTORS / "m3ua").glob("*.hex"))]
M3UA_TAGS = [0x0004, 0x0006, 0x0007, 0x0009, 0x000B, 0x000C, 0x000D, 0x0011, 0x0012]
M3UA_TAGS += [0x0013, 0x0200, 0x0204, 0x0210]


def sccp_decoders_accept_or_refuse(octets: bytes) -> None:
    for decoder in (sccp.decode, sccp.decode_address):
        try:
            decoder(octets)
        except CodecError as e:
            assert e.layer == "sccp"


def m3ua_decoder_accepts_or_refuses(octets: bytes) -> m3ua.Message | None:
    try:
        message = m3ua.decode(octets)
    except M3uaError as e:
        assert e.layer == "m3ua" and 0 < e.error_code < 0x20
        return None
    # whatever it read can be written again and read the same
    assert m3ua.decode(m3ua.encode(message)) == message
    return message


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    octets = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        where = draw(st.integers(0, max(0, len(octets) - 1)))
        if action == "flip" and octets:
            octets[where] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and octets:
            octets[where] = draw(st.sampled_from([0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF]))
        elif action == "insert":
            octets[where:where] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete" and octets:
            del octets[where]
        elif action == "truncate":
            del octets[where:]
    return bytes(octets)


@st.composite
def m3ua_shaped(draw: st.DrawFn) -> bytes:
    """A valid common header over parameters of known tags and random lengths."""
    body = b""
    for _ in range(draw(st.integers(0, 5))):
        tag = draw(st.sampled_from(M3UA_TAGS) | st.integers(0, 0xFFFF))
        value = draw(st.binary(max_size=24))
        length = draw(st.sampled_from([4 + len(value)]) | st.integers(0, 40))
        padding = b"\x00" * (-len(value) % 4) if draw(st.booleans()) else b""
        body += tag.to_bytes(2, "big") + length.to_bytes(2, "big") + value + padding
    message_class = draw(st.sampled_from([0, 1, 2, 3, 4, 9]) | st.integers(0, 255))
    message_type = draw(st.integers(0, 8) | st.integers(0, 255))
    return bytes((1, 0, message_class, message_type)) + (8 + len(body)).to_bytes(4, "big") + body


@st.composite
def sccp_shaped(draw: st.DrawFn) -> bytes:
    """One of the four message types, then small pointers and random parameters."""
    head = bytes((draw(st.sampled_from([0x09, 0x0A, 0x11, 0x12])), draw(st.integers(0, 255))))
    pointers = draw(st.lists(st.integers(0, 12), min_size=3, max_size=5))
    tail = draw(st.binary(max_size=40))
    return head + bytes(pointers) + tail


# --- decoders --------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_random_octets_into_every_decoder(octets: bytes) -> None:
    sccp_decoders_accept_or_refuse(octets)
    m3ua_decoder_accepts_or_refuses(octets)
    try:
        ipa.decode_ccm(octets)
    except CodecError as e:
        assert e.layer == "ipa"


@FUZZ
@given(mutated(SCCP_VECTORS) | sccp_shaped())
def test_mutated_sccp(octets: bytes) -> None:
    sccp_decoders_accept_or_refuse(octets)


@FUZZ
@given(mutated(M3UA_VECTORS) | m3ua_shaped())
def test_mutated_m3ua(octets: bytes) -> None:
    m3ua_decoder_accepts_or_refuses(octets)


@FUZZ
@given(st.lists(mutated(M3UA_VECTORS) | m3ua_shaped(), max_size=6))
def test_state_machines_take_whatever_decodes(inputs: list[bytes]) -> None:
    client = AspClient(routing_contexts=(7,))
    server = SgpServer(routing_contexts=(7,))
    client.connected()
    for octets in inputs:
        message = m3ua_decoder_accepts_or_refuses(octets)
        if message is None:
            continue
        for side in (client, server):
            for reply in side.receive(message):
                m3ua.decode(m3ua.encode(reply))
        client.take_delivered()
        server.take_delivered()


# --- framers ---------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_m3ua_framer_on_random_streams(stream: bytes, chunks: list[int]) -> None:
    framer = m3ua.StreamFramer(max_octets=4096)
    pos = 0
    try:
        for step in chunks * (len(stream) // len(chunks) + 1):
            for message in framer.feed(stream[pos : pos + step]):
                assert 8 <= len(message) <= 4096
                m3ua_decoder_accepts_or_refuses(message)
            pos += step
    except M3uaError as e:
        assert e.error_code == m3ua.ERROR_PROTOCOL_ERROR
    assert framer.buffered <= len(stream)


@FUZZ
@given(st.binary(max_size=400), st.integers(1, 16))
def test_ipa_framer_and_client_on_random_streams(stream: bytes, step: int) -> None:
    framer = ipa.IpaFramer(max_payload=300)
    client = ipa.IpaClient("fuzz")
    try:
        for pos in range(0, len(stream), step):
            for stream_id, payload in framer.feed(stream[pos : pos + step]):
                if stream_id == ipa.STREAM_CCM:
                    for frame in client.receive(payload):
                        assert ipa.IpaFramer().feed(frame)
                elif stream_id == ipa.STREAM_SCCP:
                    sccp_decoders_accept_or_refuse(payload)
    except CodecError as e:
        assert e.layer == "ipa"


# --- valid messages survive encode and decode ---------------------------------------

DIGITS = st.text("0123456789abcdef", max_size=16)


@st.composite
def addresses(draw: st.DrawFn) -> sccp.SccpAddress:
    gti = draw(st.sampled_from([0, 1, 2, 3, 4]))
    digits = None if gti == 0 else draw(DIGITS)
    if gti == 2 and digits is not None and len(digits) % 2:
        digits += "0"  # GTI 2 has no odd/even indication: whole octets only
    return sccp.SccpAddress(
        digits,
        draw(st.none() | st.integers(0, 255)),
        draw(st.none() | st.integers(0, 0x3FFF)),
        draw(st.integers(0, 255)) if gti in (2, 3, 4) else 0,
        draw(st.integers(0, 15)) if gti in (3, 4) else 1,
        draw(st.integers(0, 127)) if gti in (1, 4) else 4,
        draw(st.booleans()),
        gti or 4,
        draw(st.booleans()),
    )


@st.composite
def sccp_messages(draw: st.DrawFn) -> sccp.SccpMessage:
    called, calling = draw(addresses()), draw(addresses())
    data = draw(st.binary(max_size=200))
    kind = draw(st.sampled_from(["udt", "udts", "xudt", "xudts"]))
    if kind == "udt":
        return sccp.Unitdata(called, calling, data, draw(st.integers(0, 1)), draw(st.booleans()))
    if kind == "udts":
        return sccp.UnitdataService(draw(st.integers(0, 255)), called, calling, data)
    segmentation = draw(
        st.none()
        | st.builds(
            sccp.Segmentation,
            st.booleans(),
            st.booleans(),
            st.integers(0, 15),
            st.integers(0, 0xFFFFFF),
        )
    )
    importance = draw(st.none() | st.integers(0, 7))
    if kind == "xudt":
        return sccp.ExtendedUnitdata(
            called,
            calling,
            data,
            draw(st.integers(0, 1)),
            draw(st.booleans()),
            draw(st.integers(0, 15)),
            segmentation,
            importance,
        )
    cause = draw(st.integers(0, 255))
    hops = draw(st.integers(0, 15))
    return sccp.ExtendedUnitdataService(
        cause, hops, called, calling, data, segmentation, importance
    )


@FUZZ
@given(sccp_messages())
def test_any_sccp_message_survives(message: sccp.SccpMessage) -> None:
    assert sccp.decode(sccp.encode(message)) == message


U32 = st.integers(0, 0xFFFFFFFF)
CONTEXTS = st.lists(U32, max_size=3).map(tuple)
TEXT = st.none() | st.text(max_size=20)
POINTS = st.lists(
    st.builds(m3ua.AffectedPointCode, st.integers(0, 0xFFFFFF), st.integers(0, 255)),
    min_size=1,
    max_size=3,
).map(tuple)
M3UA_MESSAGES = st.one_of(
    st.builds(
        m3ua.Data,
        st.builds(m3ua.ProtocolData, U32, U32, *[st.integers(0, 255)] * 4, st.binary(max_size=300)),
        st.none() | U32,
        st.none() | U32,
        st.none() | U32,
    ),
    st.builds(m3ua.Error, U32, st.none() | st.binary(max_size=40), CONTEXTS, st.none() | U32),
    st.builds(
        m3ua.Notify, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.none() | U32, CONTEXTS, TEXT
    ),
    st.builds(m3ua.Ssnm, st.integers(1, 6), POINTS, st.none() | U32, CONTEXTS),
    st.builds(m3ua.AspUp, st.none() | U32, TEXT),
    st.builds(m3ua.AspUpAck, st.none() | U32, TEXT),
    st.builds(m3ua.AspDown, TEXT),
    st.builds(m3ua.AspDownAck, TEXT),
    st.builds(m3ua.Beat, st.none() | st.binary(max_size=40)),
    st.builds(m3ua.BeatAck, st.none() | st.binary(max_size=40)),
    st.builds(m3ua.AspActive, st.none() | U32, CONTEXTS, TEXT),
    st.builds(m3ua.AspActiveAck, st.none() | U32, CONTEXTS, TEXT),
    st.builds(m3ua.AspInactive, CONTEXTS, TEXT),
    st.builds(m3ua.AspInactiveAck, CONTEXTS, TEXT),
)


@FUZZ
@given(st.lists(M3UA_MESSAGES, max_size=4), st.integers(1, 50))
def test_any_m3ua_messages_survive_the_codec_and_the_framer(
    messages: list[m3ua.Message], step: int
) -> None:
    stream = b"".join(m3ua.encode(m) for m in messages)
    framer = m3ua.StreamFramer()
    out: list[m3ua.Message] = []
    for pos in range(0, len(stream), step):
        out += [m3ua.decode(octets) for octets in framer.feed(stream[pos : pos + step])]
    assert out == messages
