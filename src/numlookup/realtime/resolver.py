"""The Real-Time Lookup resolver: one TCAP dialogue per lookup, SRI-SM to the HLR.

Rules kept here:
- A dialogue has a 4-octet otid, unique among those in flight; the table holds
  at most `max_dialogues`: one more is answered REQUEST_THROTTLED at once.
- No active link to send on: HLR_LOCAL_CANCEL at once.
- The invoke timer (`invoke_timeout`, MAP timer m, TS 29.002 §12.1) runs from
  each Begin; its expiry is TC-L-CANCEL: HLR_LOCAL_CANCEL. The request's
  deadline (`deadline`) runs from the first Begin; its expiry is TIMEOUT.
- An HLR that refuses shortMsgGatewayContext v3 is asked again with v2, and
  its GT is remembered, so that later dialogues toward it start with v2
  (TS 29.002 §17.3.3 fallback). Which HLR serves a number is learnt from the
  calling GT of its answers, per number block (the first BLOCK_DIGITS digits).
- A link that goes down answers every dialogue sent on it HLR_LOCAL_CANCEL:
  nothing waits for an answer that cannot come, and nothing leaks.
- An answer for a dialogue not in the table is dropped; a Continue for one gets
  a P-Abort "unrecognized transaction ID" (Q.774 §3.2.1.2). A Begin toward us
  is refused with a TC-U-ABORT. Undecodable messages are counted and dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field

from numlookup.config import RealtimeConfig
from numlookup.errors import CodecError
from numlookup.realtime.links import Link, LinkSet, make_link
from numlookup.results import Outcome, ResultCode
from numlookup.ss7 import gateway

log = logging.getLogger(__name__)

THROTTLED = Outcome(ResultCode.REQUEST_THROTTLED)
LOCAL_CANCEL = Outcome(ResultCode.HLR_LOCAL_CANCEL)
TIMED_OUT = Outcome(ResultCode.TIMEOUT)
BLOCK_DIGITS = 7  # a number block: numbers sharing these first digits share an HLR
REMEMBERED_BLOCKS = 100_000


@dataclass(slots=True)
class _Dialogue:
    tid: bytes
    msisdn: str
    future: asyncio.Future[Outcome]
    deadline: float
    v3: bool = True
    link: Link | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class RealtimeResolver:
    service = "realtime"
    source = "hlr"
    counts_as_ongoing = True

    def __init__(self, settings: RealtimeConfig, links: LinkSet | None = None) -> None:
        self.settings = settings
        self.links = links or LinkSet(
            [make_link(peer, settings, self.on_sccp, self.on_link_down) for peer in settings.peers]
        )
        self.dialogues: dict[bytes, _Dialogue] = {}
        self._tids = itertools.count(1)
        self.v2_hlrs: set[str] = set()
        self._hlr_of_block: OrderedDict[str, str] = OrderedDict()
        self.answered = 0
        self.dropped = 0

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        self.links.start()

    async def stop(self) -> None:
        await self.links.stop()
        for dialogue in list(self.dialogues.values()):
            self._finish(dialogue, LOCAL_CANCEL)

    # ---------------------------------------------------------------- Resolver

    def resolve(self, msisdn: str) -> Outcome | Awaitable[Outcome]:
        if len(self.dialogues) >= self.settings.max_dialogues:
            return THROTTLED
        link = self.links.first_active()
        if link is None:
            return LOCAL_CANCEL
        loop = asyncio.get_running_loop()
        hlr = self._hlr_of_block.get(msisdn[:BLOCK_DIGITS])
        dialogue = _Dialogue(
            self._new_tid(),
            msisdn,
            loop.create_future(),
            loop.time() + self.settings.deadline,
            v3=hlr not in self.v2_hlrs,
        )
        self._begin(dialogue, link)
        return dialogue.future

    def _new_tid(self) -> bytes:
        while True:
            tid = (next(self._tids) & 0xFFFFFFFF).to_bytes(4, "big")
            if tid not in self.dialogues:
                return tid

    def _begin(self, dialogue: _Dialogue, link: Link) -> None:
        context = gateway.V3 if dialogue.v3 else gateway.V2
        data = gateway.request(dialogue.tid, dialogue.msisdn, self.settings.local_gt, context)
        if not link.send(data):
            self._finish(dialogue, LOCAL_CANCEL)
            return
        dialogue.link = link
        self.dialogues[dialogue.tid] = dialogue
        loop = asyncio.get_running_loop()
        when = min(loop.time() + self.settings.invoke_timeout, dialogue.deadline)
        if dialogue.timer is not None:
            dialogue.timer.cancel()
        dialogue.timer = loop.call_at(when, self._expired, dialogue)

    def _expired(self, dialogue: _Dialogue) -> None:
        dialogue.timer = None
        late = asyncio.get_running_loop().time() >= dialogue.deadline
        self._finish(dialogue, TIMED_OUT if late else LOCAL_CANCEL)

    def _finish(self, dialogue: _Dialogue, outcome: Outcome) -> None:
        self.dialogues.pop(dialogue.tid, None)
        if dialogue.timer is not None:
            dialogue.timer.cancel()
            dialogue.timer = None
        if not dialogue.future.done():
            dialogue.future.set_result(outcome)

    # ---------------------------------------------------------------- from the links

    def on_sccp(self, link: Link, data: bytes) -> None:
        try:
            answer = gateway.answer(data)
        except CodecError as exc:
            # Counted, logged quietly: a peer sending garbage must not flood the log.
            self.dropped += 1
            log.debug("%s: undecodable message from the network: %s", link, exc)
            return
        if answer.refusal is not None:
            self.dropped += 1
            link.send(answer.refusal)
            return
        dialogue = self.dialogues.get(answer.tid)
        if dialogue is None:
            self.dropped += 1
            if answer.abort_to is not None and answer.peer_tid is not None:
                link.send(gateway.p_abort(answer.peer_tid, answer.abort_to, answer.abort_from))
            return
        if answer.hlr_gt:
            self._learn(dialogue.msisdn, answer.hlr_gt)
        if answer.retry_v2:
            if not dialogue.v3:
                self._finish(dialogue, gateway.ABORTED)
                return
            if answer.hlr_gt:
                self.v2_hlrs.add(answer.hlr_gt)
            self.dialogues.pop(dialogue.tid, None)
            dialogue.v3 = False
            dialogue.tid = self._new_tid()
            next_link = self.links.first_active()
            if next_link is None:
                self._finish(dialogue, LOCAL_CANCEL)
                return
            self._begin(dialogue, next_link)
            return
        if answer.outcome is None:
            return  # a Continue with nothing for us yet
        self.answered += 1
        self._finish(dialogue, answer.outcome)

    def on_link_down(self, link: Link) -> None:
        lost = [d for d in self.dialogues.values() if d.link is link]
        if lost:
            log.warning("%s: down with %d dialogues in flight", link, len(lost))
        for dialogue in lost:
            self._finish(dialogue, LOCAL_CANCEL)

    def _learn(self, msisdn: str, hlr_gt: str) -> None:
        block = msisdn[:BLOCK_DIGITS]
        if self._hlr_of_block.get(block) != hlr_gt:
            self._hlr_of_block[block] = hlr_gt
            if len(self._hlr_of_block) > REMEMBERED_BLOCKS:
                self._hlr_of_block.popitem(last=False)
