"""numlookup.Client / AsyncClient over httpx.MockTransport: parsing, failover, stickiness."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from numlookup import AsyncClient, Client, LookupResult, ResultCode
from numlookup.cli.lookup import COLUMNS, answered_in, bulk, read_numbers
from numlookup.client import (
    AuthenticationError,
    ClientError,
    ResponseError,
    ServersUnavailable,
    parse_body,
)
from numlookup.errors import ConfigError, NumlookupError

PRIMARY = "http://primary:3700"
BACKUP = "http://backup:3700"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Peers:
    """Named server behaviours by host, and a log of every request made."""

    def __init__(self, **behaviours: Handler) -> None:
        self.behaviours = behaviours
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.behaviours[request.url.host](request)

    @property
    def hosts(self) -> list[str]:
        return [request.url.host for request in self.seen]


def happy(body: str = "result=OK;imsi=24008") -> Handler:
    return lambda request: httpx.Response(200, text=body)


def refuses(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def times_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def status(code: int) -> Handler:
    return lambda request: httpx.Response(code, text="nope")


def client(peers: Peers, clock: FakeClock | None = None, **kwargs: object) -> Client:
    return Client(
        [PRIMARY, BACKUP],
        username="demo",
        password="demo",
        transport=httpx.MockTransport(peers),
        clock=clock or FakeClock(),
        **kwargs,  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------- parsing


def test_parse_ok_with_imsi_and_location() -> None:
    answer = parse_body("result=OK;imsi=24008;location=46", PRIMARY)
    assert answer == LookupResult(
        ResultCode.OK, "240", "08", "24008", "46", "result=OK;imsi=24008;location=46", PRIMARY
    )
    assert answer.ok


def test_parse_three_digit_mnc_from_the_table() -> None:
    answer = parse_body("result=OK;imsi=311480")
    assert (answer.mcc, answer.mnc, answer.imsi, answer.location) == ("311", "480", "311480", None)


def test_parse_unknown_network_falls_back_to_three_digit_mcc() -> None:
    answer = parse_body("result=OK;imsi=99999")
    assert (answer.mcc, answer.mnc) == ("999", "99")


@pytest.mark.parametrize("code", list(ResultCode))
def test_parse_every_result_code(code: ResultCode) -> None:
    answer = parse_body("result=" + code.value)
    assert answer.result is code
    assert answer.ok is (code is ResultCode.OK)
    assert (answer.imsi, answer.mcc, answer.mnc, answer.location) == (None, None, None, None)


def test_parse_tolerates_unknown_fields() -> None:
    answer = parse_body("result=OK;imsi=24008;ported=1;location=46;x=")
    assert (answer.imsi, answer.location, answer.raw) == (
        "24008",
        "46",
        "result=OK;imsi=24008;ported=1;location=46;x=",
    )


@pytest.mark.parametrize(
    "body", ["result=NO_SUCH_CODE", "", "imsi=24008", "OK", "imsi=24008;result=OK", "result=OK;x"]
)
def test_parse_rejects_what_is_not_an_answer(body: str) -> None:
    with pytest.raises(ResponseError) as caught:
        parse_body(body)
    assert isinstance(caught.value, NumlookupError)


def test_unknown_code_from_a_server_is_a_clear_error_not_a_failover() -> None:
    peers = Peers(primary=happy("result=SOMETHING_NEW"), backup=happy())
    with client(peers) as c, pytest.raises(ResponseError, match="SOMETHING_NEW"):
        c.lookup("46708100100")
    assert peers.hosts == ["primary"]


# ----------------------------------------------------------------- requests


def test_request_url_encoding_and_basic_auth() -> None:
    peers = Peers(primary=happy(), backup=happy())
    with client(peers) as c:
        c.lookup("+46708100100")
        c.lookup("46708100100", nocache=True)
        c.lookup("4670 81&x=1")
    assert [r.url.query for r in peers.seen] == [
        b"msisdn=%2B46708100100",
        b"msisdn=46708100100&nocache",
        b"msisdn=4670%2081%26x%3D1",
    ]
    assert peers.seen[0].url.path == "/lookup"
    assert peers.seen[0].headers["authorization"] == "Basic ZGVtbzpkZW1v"


def test_server_urls_are_checked() -> None:
    with pytest.raises(ConfigError):
        Client([], username="u", password="p")
    with pytest.raises(ConfigError):
        Client(["ftp://x"], username="u", password="p")
    with pytest.raises(ConfigError):
        Client([PRIMARY], username="u", password="p", deadline=0)


def test_trailing_slash_and_answering_server() -> None:
    peers = Peers(primary=happy())
    with Client(
        [PRIMARY + "/"], username="u", password="p", transport=httpx.MockTransport(peers)
    ) as c:
        answer = c.lookup("46708100100")
    assert str(peers.seen[0].url) == PRIMARY + "/lookup?msisdn=46708100100"
    assert answer.server == PRIMARY


# ----------------------------------------------------------------- failover


@pytest.mark.parametrize("failing", [refuses, times_out, status(500), status(503)])
def test_failover_to_the_backup(failing: Handler) -> None:
    peers = Peers(primary=failing, backup=happy("result=OK;imsi=24004"))
    with client(peers) as c:
        answer = c.lookup("46708100200")
    assert peers.hosts == ["primary", "backup"]
    assert answer.server == BACKUP
    assert answer.imsi == "24004"


@pytest.mark.parametrize("code", list(ResultCode))
def test_an_answer_is_never_retried_whatever_its_code(code: ResultCode) -> None:
    peers = Peers(primary=happy("result=" + code.value), backup=happy())
    with client(peers) as c:
        answer = c.lookup("46708100100")
    assert peers.hosts == ["primary"]
    assert answer.result is code
    assert answer.server == PRIMARY


def test_401_is_an_authentication_error_not_a_failover() -> None:
    peers = Peers(primary=status(401), backup=happy())
    with client(peers) as c, pytest.raises(AuthenticationError) as caught:
        c.lookup("46708100100")
    assert caught.value.status == 401
    assert peers.hosts == ["primary"]


@pytest.mark.parametrize("code", [400, 404, 405, 414])
def test_other_4xx_is_a_client_error_not_a_failover(code: int) -> None:
    peers = Peers(primary=status(code), backup=happy())
    with client(peers) as c, pytest.raises(ClientError) as caught:
        c.lookup("46708100100")
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status == code
    assert peers.hosts == ["primary"]


def test_all_servers_fail_lists_each_failure() -> None:
    peers = Peers(primary=refuses, backup=status(503))
    with client(peers) as c, pytest.raises(ServersUnavailable) as caught:
        c.lookup("46708100100")
    failures = caught.value.failures
    assert [f.server for f in failures] == [PRIMARY, BACKUP]
    assert "connection error" in failures[0].reason
    assert "503" in failures[1].reason
    assert PRIMARY in str(caught.value) and BACKUP in str(caught.value)


def test_deadline_bounds_the_whole_sequence() -> None:
    clock = FakeClock()

    def slow_timeout(request: httpx.Request) -> httpx.Response:
        clock.now += 6.0  # the attempt used up its time, and the deadline with it
        raise httpx.ConnectTimeout("timed out", request=request)

    peers = Peers(primary=slow_timeout, backup=happy())
    with (
        client(peers, clock, timeout=5.0, deadline=5.0) as c,
        pytest.raises(ServersUnavailable) as caught,
    ):
        c.lookup("46708100100")
    assert peers.hosts == ["primary"]
    assert caught.value.failures[1].reason == "not tried: deadline passed"


def test_each_attempt_gets_at_most_what_is_left_of_the_deadline() -> None:
    clock = FakeClock()
    timeouts: list[dict[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        clock.now += 3.0
        raise httpx.ConnectError("refused", request=request)

    peers = Peers(primary=record, backup=record)
    with client(peers, clock, timeout=4.0, deadline=5.0) as c, pytest.raises(ServersUnavailable):
        c.lookup("46708100100")
    assert [t["read"] for t in timeouts] == [4.0, 2.0]


def test_sticks_to_the_backup_then_tries_the_primary_after_recheck() -> None:
    clock = FakeClock()
    primary_up = False

    def primary(request: httpx.Request) -> httpx.Response:
        if primary_up:
            return httpx.Response(200, text="result=OK;imsi=24008")
        raise httpx.ConnectError("refused", request=request)

    peers = Peers(primary=primary, backup=happy())
    with client(peers, clock, recheck=30.0) as c:
        assert c.lookup("1").server == BACKUP
        assert c.current_server == BACKUP
        clock.now += 10
        assert c.lookup("2").server == BACKUP
        assert peers.hosts == ["primary", "backup", "backup"]  # no second try of the primary
        clock.now += 25  # recheck due; primary still down: back to the backup
        assert c.lookup("3").server == BACKUP
        assert peers.hosts[3:] == ["primary", "backup"]
        clock.now += 10  # the recheck clock restarted at the last failed try
        c.lookup("4")
        assert peers.hosts[5:] == ["backup"]
        primary_up = True
        clock.now += 30
        assert c.lookup("5").server == PRIMARY
        assert c.lookup("6").server == PRIMARY
        assert peers.hosts[6:] == ["primary", "primary"]


def test_from_the_backup_the_walk_wraps_round_to_the_primary() -> None:
    clock = FakeClock()
    backup_up = True

    def backup(request: httpx.Request) -> httpx.Response:
        if backup_up:
            return httpx.Response(200, text="result=OK")
        return httpx.Response(502)

    peers = Peers(primary=refuses, backup=backup)
    with client(peers, clock) as c:
        c.lookup("1")
        backup_up = False
        with pytest.raises(ServersUnavailable) as caught:
            c.lookup("2")
    assert [f.server for f in caught.value.failures] == [BACKUP, PRIMARY]


# ----------------------------------------------------------------- async


def test_async_client_fails_over_and_never_retries_answers() -> None:
    async def run() -> list[LookupResult]:
        peers = Peers(primary=status(503), backup=happy("result=TIMEOUT"))
        async with AsyncClient(
            [PRIMARY, BACKUP],
            username="demo",
            password="demo",
            transport=httpx.MockTransport(peers),
            clock=FakeClock(),
        ) as c:
            answers = [await c.lookup("+46708100100"), await c.lookup("46708100200")]
        assert peers.hosts == ["primary", "backup", "backup"]
        assert peers.seen[0].url.query == b"msisdn=%2B46708100100"
        return answers

    answers = asyncio.run(run())
    assert [a.result for a in answers] == [ResultCode.TIMEOUT, ResultCode.TIMEOUT]
    assert all(a.server == BACKUP for a in answers)


def test_async_client_401_and_all_failed() -> None:
    async def run() -> None:
        peers = Peers(primary=status(401), backup=refuses)
        async with AsyncClient(
            [PRIMARY, BACKUP],
            username="demo",
            password="x",
            transport=httpx.MockTransport(peers),
        ) as c:
            with pytest.raises(AuthenticationError):
                await c.lookup("1")
            peers.behaviours["primary"] = times_out
            with pytest.raises(ServersUnavailable) as caught:
                await c.lookup("1")
            assert [f.server for f in caught.value.failures] == [PRIMARY, BACKUP]
            assert "timeout" in caught.value.failures[0].reason

    asyncio.run(run())


# ----------------------------------------------------------------- bulk CLI


def test_read_numbers_header_blanks_and_repeats() -> None:
    lines = ["msisdn,note\n", "\n", "46708100100,a\n", "+46708100200\n", " \n", "46708100100\n"]
    assert read_numbers(lines) == ["46708100100", "+46708100200"]
    assert read_numbers(["46708100100\n", "msisdn\n"]) == ["46708100100", "msisdn"]


def test_answered_in_cuts_a_broken_last_line(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    out.write_text(
        ",".join(COLUMNS) + "\n"
        "46708100100,OK,240,08,,result=OK;imsi=24008,http://a\n"
        "46708100200,OK,240,04,,result=OK;imsi=24004,http://a\n"
        "46708100300,OK,240,0"
    )
    assert answered_in(out, "csv") == {"46708100100", "46708100200"}
    assert out.read_text().endswith("http://a\n")
    assert answered_in(tmp_path / "missing.csv", "csv") == set()


def test_answered_in_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text('{"msisdn": "1", "result": "OK"}\n{"msisdn": "2", "res')
    assert answered_in(out, "jsonl") == {"1"}
    assert out.read_text() == '{"msisdn": "1", "result": "OK"}\n'


def run_bulk(
    tmp_path: Path, peers: Peers, numbers: list[str], fmt: str = "csv"
) -> tuple[Path, int, int, int]:
    source = tmp_path / "numbers.csv"
    source.write_text("msisdn\n" + "\n".join(numbers) + "\n")
    out = tmp_path / f"results.{fmt}"
    c = AsyncClient(
        [PRIMARY, BACKUP], username="demo", password="demo", transport=httpx.MockTransport(peers)
    )
    summary = asyncio.run(bulk(c, source, out, fmt, concurrency=4))
    return out, summary.answered, summary.already, summary.failed


def echo(request: httpx.Request) -> httpx.Response:
    msisdn = request.url.params["msisdn"]
    return httpx.Response(200, text=f"result=OK;imsi=24008;location={msisdn[-2:]}")


def test_bulk_resumes_after_a_broken_last_line(tmp_path: Path) -> None:
    numbers = [f"467081{n:05d}" for n in range(20)]
    out = tmp_path / "results.csv"
    out.write_text(
        ",".join(COLUMNS) + "\n"
        f"{numbers[0]},OK,240,08,00,result=OK;imsi=24008;location=00,{PRIMARY}\n"
        f"{numbers[1]},OK,240,08,01,result=OK;imsi=24008;locat"
    )
    peers = Peers(primary=echo, backup=echo)
    out, answered, already, failed = run_bulk(tmp_path, peers, numbers)
    assert (answered, already, failed) == (19, 1, 0)
    assert sorted(r.url.params["msisdn"] for r in peers.seen) == numbers[1:]
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["msisdn"] for row in rows) == numbers
    assert all(row["result"] == "OK" and row["mnc"] == "08" for row in rows)
    assert {row["location"] for row in rows} == {n[-2:] for n in numbers}


def test_bulk_failed_numbers_are_not_written_and_retried_next_run(tmp_path: Path) -> None:
    numbers = [f"467081{n:05d}" for n in range(10)]

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.params["msisdn"].endswith(("3", "7")):
            return httpx.Response(503)
        return echo(request)

    out, answered, already, failed = run_bulk(
        tmp_path, Peers(primary=flaky, backup=flaky), numbers, "jsonl"
    )
    assert (answered, already, failed) == (8, 0, 2)
    peers = Peers(primary=echo, backup=echo)
    out, answered, already, failed = run_bulk(tmp_path, peers, numbers, "jsonl")
    assert (answered, already, failed) == (2, 8, 0)
    assert sorted(r.url.params["msisdn"] for r in peers.seen) == [numbers[3], numbers[7]]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(row["msisdn"] for row in rows) == numbers
    assert set(rows[0]) == set(COLUMNS)


def test_bulk_stops_on_authentication_error(tmp_path: Path) -> None:
    source = tmp_path / "numbers.csv"
    source.write_text("\n".join(f"467081{n:05d}" for n in range(50)))
    c = AsyncClient(
        [PRIMARY], username="u", password="p", transport=httpx.MockTransport(status(401))
    )
    summary = asyncio.run(bulk(c, source, tmp_path / "out.csv", "csv", concurrency=2))
    assert isinstance(summary.fatal, AuthenticationError)
    assert summary.answered == 0
