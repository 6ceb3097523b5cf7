"""The event loop's Redis reader against the real Redis: replies matched in order under
concurrency, the handshake (password, database), and every way a read can fail without hanging
the loop or misaligning later replies."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import hiredis
import pytest
import redis

from idp.storage.ephemeral.loop_reader import CONNECTION_NAME, LoopReader, RedisReadError
from tests.conftest import REDIS_URL
from tests.loops import run_on_new_loop

T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable: {exc}")
    prefix = f"idptest:reader:{secrets.token_hex(4)}:"
    client.prefix = prefix  # type: ignore[attr-defined]
    yield client
    for db in (0, 5):
        scoped = redis.Redis.from_url(f"{REDIS_URL.rsplit('/', 1)[0]}/{db}")
        keys = list(scoped.scan_iter(match=prefix + "*"))
        if keys:
            scoped.delete(*keys)


def closing(reader: LoopReader, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on a new loop and close the reader's connection before the loop ends."""
    async def run() -> T:
        try:
            return await work
        finally:
            await reader.close_on_loop()

    return run_on_new_loop(run())


def reader_for(url: str = REDIS_URL, **options: object) -> LoopReader:
    reader = LoopReader.for_pool(redis.Redis.from_url(url, **options).connection_pool, timeout=1.0)  # type: ignore[arg-type]
    assert reader is not None
    return reader


def test_concurrent_reads_get_their_own_values(server: redis.Redis) -> None:
    prefix = server.prefix  # type: ignore[attr-defined]
    for n in range(200):
        server.set(f"{prefix}{n}", f"value-{n}".encode() * (n % 7 + 1))
    reader = reader_for()

    async def read_all() -> list[bytes | None]:
        return list(await asyncio.gather(*(reader.get(f"{prefix}{n}") for n in range(200)),
                                         reader.get(f"{prefix}missing")))

    values = closing(reader, read_all())
    assert values[:-1] == [f"value-{n}".encode() * (n % 7 + 1) for n in range(200)]
    assert values[-1] is None


def test_an_error_reply_fails_that_read_only(server: redis.Redis) -> None:
    prefix = server.prefix  # type: ignore[attr-defined]
    server.rpush(f"{prefix}list", b"x")
    server.set(f"{prefix}plain", b"ok")
    reader = reader_for()

    async def reads() -> list[object]:
        return list(await asyncio.gather(reader.get(f"{prefix}list"), reader.get(f"{prefix}plain"),
                                         return_exceptions=True))

    wrong_type, plain = closing(reader, reads())
    assert isinstance(wrong_type, RedisReadError) and "WRONGTYPE" in str(wrong_type)
    assert plain == b"ok"


def test_a_dropped_connection_is_reopened(server: redis.Redis) -> None:
    prefix = server.prefix  # type: ignore[attr-defined]
    server.set(f"{prefix}k", b"v")
    reader = reader_for()

    async def scenario() -> tuple[bytes | None, bytes | None]:
        first = await reader.get(f"{prefix}k")
        ours = [c["id"] for c in server.client_list() if c["name"] == CONNECTION_NAME.decode()]
        assert ours, "the reader names its connection"
        for client_id in ours:
            server.client_kill_filter(_id=client_id)
        await asyncio.sleep(0.05)  # the loop sees the connection close
        return first, await reader.get(f"{prefix}k")

    assert closing(reader, scenario()) == (b"v", b"v")


def test_it_selects_the_database_and_authenticates(server: redis.Redis) -> None:
    prefix = server.prefix  # type: ignore[attr-defined]
    base = REDIS_URL.rsplit("/", 1)[0]
    redis.Redis.from_url(f"{base}/5").set(f"{prefix}in5", b"five")
    user, password = f"idptest-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    server.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"],
                       commands=["+get", "+auth", "+select", "+client|setname"])
    try:
        host_port = base.split("://", 1)[1].split("@")[-1]
        good = reader_for(f"redis://{user}:{password}@{host_port}/5")
        assert closing(good, good.get(f"{prefix}in5")) == b"five"
        bad = reader_for(f"redis://{user}:wrong-{password}@{host_port}/5")
        with pytest.raises(RedisReadError, match="handshake|error"):
            closing(bad, bad.get(f"{prefix}in5"))
    finally:
        server.acl_deluser(user)


def test_an_unresponsive_server_times_out_without_hanging() -> None:
    async def scenario() -> float:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)
            await reader.read(1 << 16)  # takes the command and never answers

        listener = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        reader = LoopReader(host="127.0.0.1", port=port, timeout=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RedisReadError, match="in time"):
            await reader.get("any")
        elapsed = loop.time() - started
        await reader.close_on_loop()
        for writer in accepted:
            writer.close()
            await writer.wait_closed()
        listener.close()
        await listener.wait_closed()
        return elapsed

    assert run_on_new_loop(scenario()) < 1.0


class _ScriptedRedis:
    """A listener that answers the handshake at once and each GET after ``answer_after`` seconds
    (None: never), with a nil reply."""

    def __init__(self, answer_after: float | None) -> None:
        self.answer_after = answer_after
        self.writers: list[asyncio.StreamWriter] = []
        self.listener: asyncio.Server | None = None

    async def start(self) -> int:
        self.listener = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return int(self.listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        assert self.listener is not None
        self.listener.close()
        await self.listener.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        answer_after = self.answer_after
        parser = hiredis.Reader()
        while data := await reader.read(1 << 16):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                if command[0] != b"GET":
                    writer.write(b"+OK\r\n")
                elif answer_after is not None:
                    await asyncio.sleep(answer_after)
                    writer.write(b"$-1\r\n")
                await writer.drain()


def test_a_read_the_server_never_answers_times_out() -> None:
    async def scenario() -> tuple[float, list[str]]:
        server = _ScriptedRedis(None)
        reader = LoopReader(host="127.0.0.1", port=await server.start(), timeout=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def later_read() -> str:
            await asyncio.sleep(0.1)
            with pytest.raises(RedisReadError) as failed:
                await reader.get("second")
            return str(failed.value)

        with pytest.raises(RedisReadError) as first:
            await reader.get("first")
        second = await later_read()
        elapsed = loop.time() - started
        await reader.close_on_loop()
        await server.stop()
        return elapsed, [str(first.value), second]

    elapsed, errors = run_on_new_loop(scenario())
    assert elapsed < 1.0
    assert all("in time" in error for error in errors), errors


def test_slow_answers_within_the_timeout_are_not_cut_off() -> None:
    """The deadline belongs to each read, not to the connection: reads answered 0.15 s after they
    are sent succeed one after another, well past one timeout (0.25 s) in all."""
    async def scenario() -> list[bytes | None]:
        server = _ScriptedRedis(0.15)
        reader = LoopReader(host="127.0.0.1", port=await server.start(), timeout=0.25)
        replies = [await reader.get(f"k{n}") for n in range(4)]
        await reader.close_on_loop()
        await server.stop()
        return replies

    assert run_on_new_loop(scenario()) == [None, None, None, None]


def test_nothing_listening_is_a_read_error() -> None:
    reader = LoopReader(host="127.0.0.1", port=1, timeout=0.5)
    with pytest.raises(RedisReadError):
        closing(reader, reader.get("any"))


@pytest.mark.parametrize("url", ["rediss://127.0.0.1:6380/0", "unix:///tmp/redis.sock"])
def test_other_transports_are_left_to_the_thread_path(url: str) -> None:
    assert LoopReader.for_pool(redis.Redis.from_url(url).connection_pool) is None
