"""The real-time resolver's dialogue rules, with a scripted link beside the real ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace

from numlookup.config import RealtimeConfig
from numlookup.hlrsim.hlr import Hlr
from numlookup.hlrsim.subscribers import parse
from numlookup.realtime.resolver import RealtimeResolver
from numlookup.results import Outcome, ResultCode
from numlookup.ss7 import gateway, sccp, tcap

TABLE = parse(
    "4670810,ok,240080000000000,46708999001,\n"
    "46708100900,no-answer,,,\n"
    "3584,v2-only,244910000000000,358405999001,\n"
)
SETTINGS = RealtimeConfig(invoke_timeout=0.2, deadline=1.0, max_dialogues=3)
OK = Outcome(ResultCode.OK, imsi="24008", location="46")


class ScriptedLink:
    """Stands in for an M3UA or IPA link: records what is sent, answers as told."""

    def __init__(self, hlr: Hlr | None = None) -> None:
        self.active = True
        self.sent: list[bytes] = []
        self.hlr = hlr
        self.resolver: RealtimeResolver | None = None

    def send(self, data: bytes) -> bool:
        if not self.active:
            return False
        self.sent.append(data)
        if self.hlr is not None and self.resolver is not None:
            for reply in self.hlr.handle(data):
                asyncio.get_running_loop().call_soon(self.resolver.on_sccp, self, reply.data)
        return True


class Links:
    def __init__(self, *links: ScriptedLink) -> None:
        self.links = list(links)

    def first_active(self) -> ScriptedLink | None:
        return next((link for link in self.links if link.active), None)

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def resolver_with(*links: ScriptedLink, settings: RealtimeConfig = SETTINGS) -> RealtimeResolver:
    resolver = RealtimeResolver(settings, Links(*links))  # type: ignore[arg-type]
    for link in links:
        link.resolver = resolver
    return resolver


async def answer(result: Outcome | Awaitable[Outcome]) -> Outcome:
    return result if isinstance(result, Outcome) else await result


def test_answers_and_the_table_empties() -> None:
    async def scenario() -> None:
        resolver = resolver_with(ScriptedLink(Hlr(TABLE, "46708999999")))
        assert await answer(resolver.resolve("46708100100")) == OK
        assert resolver.dialogues == {}

    asyncio.run(scenario())


def test_v3_refused_falls_back_to_v2_and_is_remembered() -> None:
    async def scenario() -> None:
        link = ScriptedLink(Hlr(TABLE, "35840999999"))
        resolver = resolver_with(link)
        first = await answer(resolver.resolve("358401234567"))
        assert first == Outcome(ResultCode.OK, imsi="24491", location="358")
        assert len(link.sent) == 2  # v3, refused; then v2
        assert resolver.v2_hlrs == {"35840999999"}
        await answer(resolver.resolve("358401234568"))
        assert len(link.sent) == 3  # the same HLR: straight to v2
        begin = tcap.decode(sccp.decode(link.sent[-1]).data)
        assert isinstance(begin, tcap.Begin) and begin.dialogue is not None
        assert begin.dialogue.application_context_name == gateway.V2

    asyncio.run(scenario())


def test_invoke_timer_and_deadline() -> None:
    async def scenario() -> None:
        silent = ScriptedLink()  # never answers
        resolver = resolver_with(silent)
        assert await answer(resolver.resolve("46708100100")) == Outcome(ResultCode.HLR_LOCAL_CANCEL)
        short = replace(SETTINGS, invoke_timeout=5.0, deadline=0.1)
        resolver = resolver_with(silent, settings=short)
        assert await answer(resolver.resolve("46708100100")) == Outcome(ResultCode.TIMEOUT)
        assert resolver.dialogues == {}

    asyncio.run(scenario())


def test_the_dialogue_cap_throttles_and_no_link_cancels() -> None:
    async def scenario() -> None:
        silent = ScriptedLink()
        resolver = resolver_with(silent)
        pending = [resolver.resolve(f"4670810010{n}") for n in range(3)]
        assert resolver.resolve("46708100104") == Outcome(ResultCode.REQUEST_THROTTLED)
        silent.active = False
        resolver.on_link_down(silent)  # type: ignore[arg-type]
        assert [await answer(p) for p in pending] == [Outcome(ResultCode.HLR_LOCAL_CANCEL)] * 3
        assert resolver.dialogues == {}
        assert resolver.resolve("46708100100") == Outcome(ResultCode.HLR_LOCAL_CANCEL)

    asyncio.run(scenario())


def test_traffic_moves_to_the_backup() -> None:
    async def scenario() -> None:
        primary = ScriptedLink(Hlr(TABLE, "46708999999"))
        backup = ScriptedLink(Hlr(TABLE, "46708999999"))
        resolver = resolver_with(primary, backup)
        assert await answer(resolver.resolve("46708100100")) == OK
        primary.active = False
        assert await answer(resolver.resolve("46708100101")) == OK
        assert (len(primary.sent), len(backup.sent)) == (1, 1)

    asyncio.run(scenario())


def test_unknown_dialogues_and_garbage_are_dropped_and_a_continue_is_p_aborted() -> None:
    async def scenario() -> None:
        link = ScriptedLink()
        resolver = resolver_with(link)
        ours, theirs = sccp.SccpAddress("46700000001", 8), sccp.SccpAddress("46708999999", 6)
        end = tcap.encode(tcap.End(b"\x00\x00\x99\x99"))
        resolver.on_sccp(link, sccp.encode_unitdata(ours, theirs, end))  # type: ignore[arg-type]
        resolver.on_sccp(link, b"\x00garbage")  # type: ignore[arg-type]
        assert link.sent == []
        cont = tcap.encode(tcap.Continue(b"\x07", b"\x00\x00\x99\x99"))
        resolver.on_sccp(link, sccp.encode_unitdata(ours, theirs, cont))  # type: ignore[arg-type]
        [abort] = link.sent
        message = tcap.decode(sccp.decode(abort).data)
        assert message == tcap.Abort(b"\x07", tcap.PAbortCause.UNRECOGNIZED_TRANSACTION_ID)
        assert resolver.dropped == 3

    asyncio.run(scenario())
