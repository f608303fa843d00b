"""M3UA ASP state maintenance, RFC 4666 §4.3: one state machine per association.

Sans-IO: `receive(message)` takes a decoded M3UA message and returns the
messages to send back; requests (`connected`, `deactivate`, `down`) return the
messages they start. No timers: the adapter calls `retransmit()` when T(ack)
runs out and `heartbeat()` every T(beat) (§4.3.4.6), and closes the association
when it decides the peer is gone.

States (§4.3.1): ASP-DOWN, ASP-INACTIVE, ASP-ACTIVE. The same three states name
the remote ASP's state as an SGP keeps it.

AspClient, our side (the ASP). Rules, as `_CLIENT_RULES` holds them:
  C1 connected(): ASP-DOWN; send ASP Up (§4.3.4.1).
  C2 ASP Up Ack in ASP-DOWN: ASP-INACTIVE; send ASP Active with our traffic
     mode and routing contexts (§4.3.4.3). A repeated ASP Up Ack is ignored.
  C3 ASP Active Ack in ASP-INACTIVE: ASP-ACTIVE. A repeated one is ignored.
  C4 DATA in ASP-ACTIVE is delivered (`take_delivered`); in any other state it
     is answered ERR "Unexpected Message" and dropped.
  C5 ASP Down Ack: ASP-DOWN. Unsolicited (we sent no ASP Down) while
     ASP-INACTIVE or ASP-ACTIVE, we send ASP Up again to return (§4.3.4.2);
     while ASP-DOWN it refuses our ASP Up (§4.3.4.1), and T(ack) repeats that.
  C6 ASP Inactive Ack: ASP-INACTIVE. Unsolicited while ASP-ACTIVE, we send ASP
     Active again (§4.3.4.4); while ASP-INACTIVE it refuses our ASP Active, and
     T(ack) repeats that.
  C7 NTFY is recorded (`last_notify`, `as_state`); "Alternate ASP Active"
     while ASP-ACTIVE moves us to ASP-INACTIVE (§4.3.4.3, override mode).
  C8 DUNA / DAVA / DRST update `unavailable_point_codes` (§4.5); all SSNM is
     recorded in `last_ssnm`.
SgpServer, the peer side (the HLR simulator's signalling gateway):
  S1 ASP Up in ASP-DOWN: ASP Up Ack, then NTFY AS-INACTIVE (§4.3.4.5);
     ASP-INACTIVE. In ASP-INACTIVE: ASP Up Ack only. In ASP-ACTIVE: ASP Up Ack
     and ERR "Unexpected Message", and ASP-INACTIVE (§4.3.4.1).
  S2 ASP Active in ASP-INACTIVE or ASP-ACTIVE: ERR "Unsupported Traffic Mode
     Type" for a mode other than 1-3, ERR "Invalid Routing Context" for one not
     configured; else ASP Active Ack echoing mode and contexts, then NTFY
     AS-ACTIVE; ASP-ACTIVE.
  S3 ASP Inactive in ASP-INACTIVE or ASP-ACTIVE: ASP Inactive Ack; ASP-INACTIVE.
  S4 ASP Down in any state: ASP Down Ack; ASP-DOWN (§4.3.4.2).
  S5 DATA in ASP-ACTIVE is delivered; before that, ERR "Unexpected Message".
Both sides, any state:
  A1 BEAT is answered BEAT Ack with the same data (§4.3.4.6).
  A2 BEAT Ack with the data of our last BEAT clears `unacknowledged_beats`.
  A3 ERR is recorded (`last_error`, `errors_received`); never answered.
  A4 Anything else is answered ERR "Unexpected Message" (§4.3.4), except a
     NTFY at the SGP, which is ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import ClassVar, Final, TypeAlias

from numlookup.ss7 import m3ua
from numlookup.ss7.m3ua import (
    AS_ACTIVE,
    AS_INACTIVE,
    ERROR_INVALID_ROUTING_CONTEXT,
    ERROR_UNEXPECTED_MESSAGE,
    ERROR_UNSUPPORTED_TRAFFIC_MODE_TYPE,
    OTHER_ALTERNATE_ASP_ACTIVE,
    SSNM_DAVA,
    SSNM_DRST,
    SSNM_DUNA,
    STATUS_AS_STATE_CHANGE,
    STATUS_OTHER,
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
    Message,
    Notify,
    Ssnm,
)


class AspState(enum.Enum):
    """ASP states, RFC 4666 §4.3.1."""

    DOWN = "ASP-DOWN"
    INACTIVE = "ASP-INACTIVE"
    ACTIVE = "ASP-ACTIVE"


DOWN: Final = AspState.DOWN
INACTIVE: Final = AspState.INACTIVE
ACTIVE: Final = AspState.ACTIVE
_ALL: Final = (DOWN, INACTIVE, ACTIVE)
_UNEXPECTED: Final = Error(ERROR_UNEXPECTED_MESSAGE)
# (state, message type) -> handler(association, message) returning the replies
_Rules: TypeAlias = Mapping[tuple[AspState, type], Callable[..., list[Message]]]
_TRAFFIC_MODES: Final = frozenset(
    (m3ua.TRAFFIC_MODE_OVERRIDE, m3ua.TRAFFIC_MODE_LOADSHARE, m3ua.TRAFFIC_MODE_BROADCAST)
)


class _Association:
    """What both sides share: state, heartbeats, delivered DATA, recorded errors."""

    _rules: ClassVar[_Rules]

    def __init__(self) -> None:
        self.state = DOWN
        self.last_error: Error | None = None
        self.errors_received = 0
        self.unacknowledged_beats = 0
        self._beats_sent = 0
        self._delivered: list[Data] = []

    def receive(self, message: Message) -> list[Message]:
        """One message from the peer in; the messages to send back out."""
        handler = self._rules.get((self.state, type(message)))
        if handler is None:
            return [_UNEXPECTED]
        return handler(self, message)

    def take_delivered(self) -> list[Data]:
        """The DATA accepted since the last call, oldest first."""
        delivered = self._delivered
        self._delivered = []
        return delivered

    def heartbeat(self) -> Beat:
        """A BEAT to send now (§4.3.4.6); its ack clears `unacknowledged_beats`."""
        self._beats_sent += 1
        self.unacknowledged_beats += 1
        return Beat(self._beats_sent.to_bytes(8, "big"))

    @property
    def active(self) -> bool:
        return self.state is ACTIVE

    # handlers shared by both sides

    def _deliver(self, message: Data) -> list[Message]:
        self._delivered.append(message)
        return []

    def _answer_beat(self, message: Beat) -> list[Message]:
        return [BeatAck(message.data)]

    def _beat_acknowledged(self, message: BeatAck) -> list[Message]:
        if message.data == self._beats_sent.to_bytes(8, "big"):
            self.unacknowledged_beats = 0
        return []

    def _record_error(self, message: Error) -> list[Message]:
        self.last_error = message
        self.errors_received += 1
        return []

    def _ignore(self, message: Message) -> list[Message]:
        return []

    def _refuse(self, message: Message) -> list[Message]:
        return [_UNEXPECTED]


def _in_every_state(
    rules: dict[type, Callable[..., list[Message]]],
) -> dict[tuple[AspState, type], Callable[..., list[Message]]]:
    return {(state, kind): handler for state in _ALL for kind, handler in rules.items()}


class AspClient(_Association):
    """Our end of an association to a signalling gateway (rules C1-C8, A1-A4)."""

    def __init__(
        self,
        routing_contexts: tuple[int, ...] = (),
        traffic_mode: int | None = None,
        asp_identifier: int | None = None,
        info_string: str | None = None,
    ) -> None:
        super().__init__()
        self.routing_contexts = routing_contexts
        self.traffic_mode = traffic_mode
        self.asp_identifier = asp_identifier
        self.info_string = info_string
        self.pending: Message | None = None  # the request awaiting its ack, for T(ack)
        self.last_notify: Notify | None = None
        self.as_state: int | None = None  # AS_INACTIVE, AS_ACTIVE, AS_PENDING from NTFY
        self.last_ssnm: Ssnm | None = None
        self.unavailable_point_codes: set[int] = set()

    # requests from the adapter

    def connected(self) -> list[Message]:
        """The transport is up: start over from ASP-DOWN with ASP Up (C1)."""
        self.state = DOWN
        return self._send(AspUp(self.asp_identifier, self.info_string))

    def disconnected(self) -> None:
        """The transport is gone: ASP-DOWN, nothing pending."""
        self.state = DOWN
        self.pending = None
        self.unacknowledged_beats = 0

    def deactivate(self) -> list[Message]:
        """Ask to stop traffic (ASP Inactive, §4.3.4.4)."""
        if self.state is not ACTIVE:
            return []
        return self._send(AspInactive(self.routing_contexts, self.info_string))

    def down(self) -> list[Message]:
        """Ask to leave (ASP Down, §4.3.4.2), before closing the transport."""
        return self._send(AspDown(self.info_string))

    def retransmit(self) -> list[Message]:
        """T(ack) ran out: the pending request again, if any (§4.3.4.1)."""
        return [] if self.pending is None else [self.pending]

    def _send(self, request: Message) -> list[Message]:
        self.pending = request
        return [request]

    def _activate(self) -> list[Message]:
        return self._send(AspActive(self.traffic_mode, self.routing_contexts, self.info_string))

    # handlers

    def _up_acknowledged(self, message: AspUpAck) -> list[Message]:
        self.state = INACTIVE
        return self._activate()

    def _active_acknowledged(self, message: AspActiveAck) -> list[Message]:
        self.state = ACTIVE
        self.pending = None
        return []

    def _down_acknowledged(self, message: AspDownAck) -> list[Message]:
        was = self.state
        self.state = DOWN
        if isinstance(self.pending, AspDown):
            self.pending = None
            return []
        if was is DOWN:
            return []  # our ASP Up refused: still pending for retransmit()
        return self._send(AspUp(self.asp_identifier, self.info_string))

    def _inactive_acknowledged(self, message: AspInactiveAck) -> list[Message]:
        was = self.state
        self.state = INACTIVE
        if isinstance(self.pending, AspInactive):
            self.pending = None
            return []
        if was is ACTIVE:
            return self._activate()
        return []  # our ASP Active refused: still pending for retransmit()

    def _notified(self, message: Notify) -> list[Message]:
        self.last_notify = message
        if message.status_type == STATUS_AS_STATE_CHANGE:
            self.as_state = message.status_info
        elif message.status_type == STATUS_OTHER and (
            message.status_info == OTHER_ALTERNATE_ASP_ACTIVE and self.state is ACTIVE
        ):
            self.state = INACTIVE
        return []

    def _network_management(self, message: Ssnm) -> list[Message]:
        self.last_ssnm = message
        points = {a.point_code for a in message.affected_point_codes if a.mask == 0}
        if message.message_type == SSNM_DUNA:
            self.unavailable_point_codes |= points
        elif message.message_type in (SSNM_DAVA, SSNM_DRST):
            self.unavailable_point_codes -= points
        return []

    _rules: ClassVar[_Rules] = {
        **_in_every_state(
            {
                Beat: _Association._answer_beat,
                BeatAck: _Association._beat_acknowledged,
                Error: _Association._record_error,
                Notify: _notified,
                Ssnm: _network_management,
                AspDownAck: _down_acknowledged,
                Data: _Association._refuse,
            }
        ),
        (DOWN, AspUpAck): _up_acknowledged,
        (INACTIVE, AspUpAck): _Association._ignore,
        (ACTIVE, AspUpAck): _Association._ignore,
        (INACTIVE, AspActiveAck): _active_acknowledged,
        (ACTIVE, AspActiveAck): _Association._ignore,
        (INACTIVE, AspInactiveAck): _inactive_acknowledged,
        (ACTIVE, AspInactiveAck): _inactive_acknowledged,
        (ACTIVE, Data): _Association._deliver,
    }


class SgpServer(_Association):
    """The signalling gateway's end of one association (rules S1-S5, A1-A4).

    `routing_contexts` are the ones configured; empty accepts any. `notify`
    sends the optional NTFY after ASP Up Ack and ASP Active Ack.
    """

    def __init__(self, routing_contexts: tuple[int, ...] = (), notify: bool = True) -> None:
        super().__init__()
        self.routing_contexts = routing_contexts
        self.notify = notify
        self.asp_identifier: int | None = None  # the remote ASP's, from its ASP Up

    def _up(self, message: AspUp) -> list[Message]:
        was = self.state
        self.state = INACTIVE
        self.asp_identifier = message.asp_identifier
        replies: list[Message] = [AspUpAck()]
        if was is ACTIVE:
            replies.append(_UNEXPECTED)
        elif was is DOWN and self.notify:
            replies.append(Notify(STATUS_AS_STATE_CHANGE, AS_INACTIVE, message.asp_identifier))
        return replies

    def _active(self, message: AspActive) -> list[Message]:
        if message.traffic_mode is not None and message.traffic_mode not in _TRAFFIC_MODES:
            return [Error(ERROR_UNSUPPORTED_TRAFFIC_MODE_TYPE)]
        unknown = tuple(rc for rc in message.routing_contexts if rc not in self.routing_contexts)
        if unknown and self.routing_contexts:
            return [Error(ERROR_INVALID_ROUTING_CONTEXT, routing_contexts=unknown)]
        self.state = ACTIVE
        replies: list[Message] = [AspActiveAck(message.traffic_mode, message.routing_contexts)]
        if self.notify:
            contexts = message.routing_contexts or self.routing_contexts
            replies.append(Notify(STATUS_AS_STATE_CHANGE, AS_ACTIVE, self.asp_identifier, contexts))
        return replies

    def _inactive(self, message: AspInactive) -> list[Message]:
        self.state = INACTIVE
        return [AspInactiveAck(message.routing_contexts)]

    def _down(self, message: AspDown) -> list[Message]:
        self.state = DOWN
        return [AspDownAck()]

    _rules: ClassVar[_Rules] = {
        **_in_every_state(
            {
                Beat: _Association._answer_beat,
                BeatAck: _Association._beat_acknowledged,
                Error: _Association._record_error,
                Notify: _Association._ignore,
                AspUp: _up,
                AspDown: _down,
                Data: _Association._refuse,
            }
        ),
        (INACTIVE, AspActive): _active,
        (ACTIVE, AspActive): _active,
        (INACTIVE, AspInactive): _inactive,
        (ACTIVE, AspInactive): _inactive,
        (ACTIVE, Data): _Association._deliver,
    }
