"""The pipelined Redis client: order under concurrency, scripts reloaded after a flush, AUTH
and SELECT from the URL, and a reply that does not come in time closes the connection."""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop

from palisade.store.resp import Command, RespClient, RespError, Script, encode
from tests.helpers.redis_server import RedisServer
from tests.helpers.servers import free_port


async def test_concurrent_calls_get_their_own_replies(redis: RedisServer) -> None:
    client = RespClient(redis.url, 1.0)
    replies = await asyncio.gather(*(client.call([b"ECHO", str(i)]) for i in range(200)))
    assert replies == [str(i).encode() for i in range(200)]
    await client.close()


async def test_scripts_are_loaded_again_after_a_flush(redis: RedisServer) -> None:
    client = RespClient(redis.url, 1.0)
    script = Script("return ARGV[1] .. KEYS[1]")
    assert await client.evalsha(script, script.command(["k"], ["v"])) == b"vk"
    await client.call([b"SCRIPT", b"FLUSH"])
    assert await client.evalsha(script, script.command(["k"], ["w"])) == b"wk"
    nope = Script("return redis.call('NOPE')")
    with pytest.raises(RespError):
        await client.evalsha(nope, nope.command([], []))
    await client.close()


async def test_a_command_with_its_head_encoded_once(redis: RedisServer) -> None:
    script = Script("return {KEYS[1], ARGV[1], ARGV[2], ARGV[3]}")
    head: list[str | bytes | int] = [b"EVALSHA", script.sha, 1, "k\u00e9y", -1]
    command = Command(head, 2)
    for tail in ((1_796_094_015_913, 0), ("x", b"\r\n")):
        assert command.encode(tail) == encode([*head, *tail])
    client = RespClient(redis.url, 1.0)
    await client.call([b"SCRIPT", b"FLUSH"])  # the encoded call still loads the script
    reply = await client.evalsha(script, command.encode((7, "z")))
    assert reply == ["k\u00e9y".encode(), b"-1", b"7", b"z"]
    await client.close()


async def test_password_and_database_from_the_url() -> None:
    server = RedisServer()
    server.start()
    try:
        assert server.command("CONFIG", "SET", "requirepass", "s3cr:t").startswith(b"+OK")
        client = RespClient(f"redis://:s3cr%3At@127.0.0.1:{server.port}/3", 1.0)
        await client.call([b"SET", b"k", b"v"])
        assert await client.call([b"GET", b"k"]) == b"v"
        assert await client.call([b"CLIENT", b"INFO"]) != b""
        await client.close()
        anonymous = RespClient(f"redis://127.0.0.1:{server.port}/0", 1.0)
        with pytest.raises(RespError):
            await anonymous.call([b"GET", b"k"])
        await anonymous.close()
    finally:
        server.kill()


async def test_a_late_reply_closes_the_connection_and_the_next_call_reconnects() -> None:
    server = RedisServer()
    server.start()
    client = RespClient(server.url, 0.2)
    try:
        assert await client.call([b"PING"]) == b"PONG"
        server.pause()
        with pytest.raises(TimeoutError):
            await client.call([b"PING"])
        server.resume()
        # Had the connection stayed, this call would get the late PONG of the one before.
        assert await client.call([b"ECHO", b"fresh"]) == b"fresh"
    finally:
        server.resume()
        server.kill()
        await client.close()


async def test_nothing_listening_fails_fast() -> None:
    client = RespClient(f"redis://127.0.0.1:{free_port()}/0", 0.5)
    with pytest.raises(ConnectionRefusedError):
        await client.call([b"PING"])


def test_a_stalled_event_loop_is_not_mistaken_for_a_slow_redis(redis: RedisServer) -> None:
    """The loop is blocked past the timeout (CPU work elsewhere) while the reply arrives in
    time: it must be read, not the connection dropped as if Redis were slow."""

    async def stalled() -> object:
        client = RespClient(redis.url, 0.1)
        await client.call([b"PING"])
        pending = asyncio.ensure_future(client.call([b"ECHO", b"in time"]))
        await asyncio.sleep(0)  # sent
        time.sleep(0.3)  # noqa: ASYNC251 (the loop is blocked on purpose)
        reply = await pending
        await client.close()
        return reply

    assert uvloop.run(stalled()) == b"in time"
