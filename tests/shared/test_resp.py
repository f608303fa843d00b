"""The pipelined Redis connection, on a real Redis, with redis-py as the reference."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from numlookup.errors import SharedStoreError
from numlookup.shared.resp import RedisAddress, RedisConnection
from tests.support.redis import RedisServer


def connection(server: RedisServer, **kw: float) -> RedisConnection:
    return RedisConnection(RedisAddress.from_url(server.url), **kw)


async def started(server: RedisServer, **kw: float) -> RedisConnection:
    conn = connection(server, **kw)
    await conn.start(wait=5.0)
    assert conn.up
    return conn


def test_address_from_url() -> None:
    address = RedisAddress.from_url("redis://:secret@10.0.0.5:6380/3")
    assert (address.host, address.port, address.db, address.password) == (
        "10.0.0.5",
        6380,
        3,
        "secret",
    )
    assert "secret" not in str(address)
    assert RedisAddress.from_url("redis://localhost").port == 6379
    with pytest.raises(ValueError):
        RedisAddress.from_url("http://localhost:6379")


def test_replies_match_redis_py(redis_server: RedisServer) -> None:
    reference = redis_server.client()

    async def scenario() -> None:
        conn = await started(redis_server)
        try:
            # Many commands in flight at once: each reply goes to its own caller.
            sets = [conn.call("SET", f"k{i}", f"v{i}") for i in range(1000)]
            assert await asyncio.gather(*sets) == [b"OK"] * 1000
            gets = [conn.call("GET", f"k{i}") for i in range(1000)]
            assert await asyncio.gather(*gets) == [reference.get(f"k{i}") for i in range(1000)]
            reference.set("binary", b"\x00\x1f\xff")
            assert await conn.call("GET", "binary") == b"\x00\x1f\xff"
            assert await conn.call("GET", "missing") is None
            assert await conn.call("INCRBY", "n", 5) == 5
            assert reference.get("n") == b"5"
            assert await conn.call("ZADD", "z", 1.5, "a") == 1
            assert reference.zscore("z", "a") == 1.5
        finally:
            await conn.close()

    asyncio.run(scenario())


def test_error_reply_is_shared_store_error(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        conn = await started(redis_server)
        try:
            await conn.call("SET", "s", "x")
            with pytest.raises(SharedStoreError, match="WRONGTYPE"):
                await conn.call("LPUSH", "s", "y")
            # The connection is still good after an error reply.
            assert await conn.call("GET", "s") == b"x"
        finally:
            await conn.close()

    asyncio.run(scenario())


def test_select_and_password(redis_server: RedisServer) -> None:
    reference = redis_server.client()
    reference.config_set("requirepass", "s3cret")
    try:

        async def scenario() -> None:
            url = f"redis://:s3cret@127.0.0.1:{redis_server.port}/2"
            conn = RedisConnection(RedisAddress.from_url(url))
            await conn.start(wait=5.0)
            try:
                assert conn.up
                await conn.call("SET", "in-db-2", "yes")
            finally:
                await conn.close()
            wrong_url = f"redis://:nope@127.0.0.1:{redis_server.port}"
            wrong = RedisConnection(RedisAddress.from_url(wrong_url))
            await wrong.start(wait=0.5)
            try:
                assert not wrong.up
            finally:
                await wrong.close()

        asyncio.run(scenario())
        reference.execute_command("AUTH", "s3cret")
        reference.execute_command("SELECT", "2")
        assert reference.get("in-db-2") == b"yes"
    finally:
        reference.config_set("requirepass", "")


def test_down_fails_at_once_and_reconnects(redis_server: RedisServer) -> None:
    states: list[bool] = []

    async def scenario() -> None:
        conn = connection(redis_server, reconnect_min=0.05, reconnect_max=0.2)
        conn.on_state = states.append
        await conn.start(wait=5.0)
        try:
            await conn.call("SET", "k", "1")
            redis_server.stop()
            for _ in range(200):
                if not conn.up:
                    break
                await asyncio.sleep(0.02)
            assert not conn.up
            with pytest.raises(SharedStoreError):
                conn.call("GET", "k")
            conn.fire("GET", "k")  # never raises
            redis_server.start()
            for _ in range(500):
                if conn.up:
                    break
                await asyncio.sleep(0.02)
            assert conn.up
            assert await conn.call("PING") == b"PONG"
        finally:
            await conn.close()

    asyncio.run(scenario())
    assert states[:3] == [True, False, True]


def test_overdue_reply_closes_the_connection(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        conn = await started(redis_server, timeout=0.2, reconnect_min=0.05)
        other = await started(redis_server)
        try:
            # Redis holding every command for a second: failed after the timeout.
            assert await other.call("CLIENT", "PAUSE", "1000", "ALL") == b"OK"
            await asyncio.sleep(0.05)
            with pytest.raises(SharedStoreError, match=r"no reply|connection lost"):
                await conn.call("GET", "k")
            # Once Redis answers again, so does the connection.
            reply = None
            for _ in range(100):
                try:
                    reply = await conn.call("PING")
                    break
                except SharedStoreError:
                    await asyncio.sleep(0.05)
            assert reply == b"PONG"
        finally:
            await conn.close()
            await other.close()

    asyncio.run(scenario())


def test_unreachable_at_start_is_a_warning_once(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]

        async def scenario() -> None:
            conn = RedisConnection(
                RedisAddress.from_url(f"redis://127.0.0.1:{port}"), reconnect_min=0.01
            )
            await conn.start(wait=0.3)  # several attempts meanwhile
            try:
                assert not conn.up
            finally:
                await conn.close()

        with caplog.at_level(logging.DEBUG, logger="numlookup.shared.resp"):
            asyncio.run(scenario())
    attempts = [r for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(attempts) >= 2
    assert [r.levelno for r in attempts].count(logging.WARNING) == 1
    assert attempts[0].levelno == logging.WARNING
