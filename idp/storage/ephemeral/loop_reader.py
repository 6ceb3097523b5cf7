"""Reading Redis from the event loop: ``GET`` without a thread hop.

The token checks of ``/userinfo`` and ``/introspect`` need one Redis read each. Through the
synchronous client they take a hop to a worker thread and back, which costs more CPU than the read;
redis-py's asyncio client avoids the hop but costs about twice the synchronous client per command.
Measured per GET of a 700-byte value (bench/experiments/redis_on_loop.py; this machine's speed
drifts, so compare within a line): synchronous client 35–47 µs of CPU (plus the hop),
``redis.asyncio`` 66–83 µs, this reader (an asyncio protocol feeding ``hiredis``, redis-py's own
parser) 40–45 µs one at a time and 14 µs when 50 requests read at once (their commands share one
write and their replies one read).

What it does and does not do:
- ``GET`` only (replies: a bulk string or nil), on one connection per event loop, opened on first
  use with the pool's host, port, database and credentials (``AUTH``/``SELECT``); commands from
  concurrent requests are pipelined on it (written together once per turn of the loop) and
  answered in order.
- Every wait is bounded by ``timeout`` (one watchdog timer per connection, not an
  ``asyncio.timeout`` per read, which cost 5 % of an introspection); a timeout, a protocol error or
  a lost connection fails what is waiting and closes the connection; the next read opens a new one.
- Plain TCP only. For TLS (``rediss://``), Unix sockets or custom credential providers,
  :meth:`LoopReader.for_pool` gives None and the store reads through a thread as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any, cast

import hiredis
import redis

from idp.errors import IdpError

CONNECTION_NAME = b"vn-idp-loop-reader"


class RedisReadError(redis.exceptions.ConnectionError, IdpError):
    """Redis could not be read from the event loop (refused, timed out, lost, or an error reply):
    the same family as the synchronous client's errors, so callers handle both alike."""


class _Connection(asyncio.Protocol):
    """One connection: replies are matched to the waiting futures in order."""

    def __init__(self, timeout: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = hiredis.Reader()
        self.timeout = timeout
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.sent_at: deque[float] = deque()  # loop time each waiting command was sent, same order
        self.watchdog: asyncio.TimerHandle | None = None
        self.unsent: list[bytes] = []  # commands of this turn of the loop, not yet written
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data)
            while (reply := self.parser.gets()) is not False:
                future = self.waiting.popleft()
                self.sent_at.popleft()
                if future.done():  # its caller gave up: the reply is dropped, the order kept
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(RedisReadError(f"Redis replied with an error: {reply}"))
                else:
                    future.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:  # garbage, or a reply nobody asked for
            self.close(RedisReadError(f"unexpected data from Redis ({type(exc).__name__})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(RedisReadError("the connection to Redis was lost"))

    def send(self, *parts: bytes) -> asyncio.Future[Any]:
        """Write one command; the future gets its reply."""
        if self.closed or self.transport is None:
            raise RedisReadError("the connection to Redis is closed")
        command = [b"*%d\r\n" % len(parts)]
        for part in parts:
            command.append(b"$%d\r\n%s\r\n" % (len(part), part))
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append(future)
        self.sent_at.append(loop.time())
        if self.watchdog is None:
            self.watchdog = loop.call_later(self.timeout, self._watch)
        if not self.unsent:  # written once per turn of the loop: concurrent reads share a send
            loop.call_soon(self._flush)
        self.unsent.extend(command)
        return future

    def _watch(self) -> None:
        """One timer per connection, not one per command: when the oldest command still waiting
        has waited ``timeout``, Redis is taken as unresponsive and the connection is closed (which
        fails every waiting command); otherwise the timer is set for the oldest one's deadline."""
        self.watchdog = None
        if self.closed or not self.sent_at:
            return
        loop = asyncio.get_running_loop()
        overdue = loop.time() - self.sent_at[0] - self.timeout
        if overdue >= 0:
            self.close(RedisReadError("Redis did not answer in time"))
        else:
            self.watchdog = loop.call_later(-overdue, self._watch)

    def _flush(self) -> None:
        unsent, self.unsent = self.unsent, []
        if not self.closed and self.transport is not None:
            self.transport.write(b"".join(unsent))

    def close(self, why: Exception) -> None:
        if self.closed:
            return
        self.closed = True
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self.sent_at.clear()
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(why)
        if self.transport is not None:
            self.transport.close()


class LoopReader:
    """``await reader.get(key)`` on the running event loop (see the module docstring)."""

    def __init__(self, *, host: str, port: int, db: int = 0, username: str | None = None,
                 password: str | None = None, timeout: float = 2.0) -> None:
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.timeout = timeout
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connection] = (
            weakref.WeakKeyDictionary())
        self._opening: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    @classmethod
    def for_pool(cls, pool: redis.ConnectionPool, timeout: float = 2.0) -> LoopReader | None:
        """A reader for what ``pool`` connects to, or None when it is not plain TCP with a password."""
        if pool.connection_class is not redis.Connection:  # TLS, Unix socket, or another transport
            return None
        options = pool.connection_kwargs
        if options.get("credential_provider") is not None:
            return None
        return cls(host=str(options.get("host", "localhost")), port=int(options.get("port", 6379)),
                   db=int(options.get("db", 0) or 0), username=options.get("username"),
                   password=options.get("password"), timeout=timeout)

    async def get(self, key: str) -> bytes | None:
        """The value at ``key`` (None when there is none); RedisReadError when Redis cannot answer."""
        connection = await self._connection()
        reply = await connection.send(b"GET", key.encode("utf-8"))  # bounded by the connection's watchdog
        if reply is not None and not isinstance(reply, bytes):
            raise RedisReadError("Redis answered GET with something other than a string")
        return reply

    async def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is not None and not connection.closed:
            return connection
        lock = self._opening.setdefault(loop, asyncio.Lock())
        async with lock:  # concurrent first reads open one connection
            connection = self._connections.get(loop)
            if connection is None or connection.closed:
                connection = await self._open(loop)
                self._connections[loop] = connection
        return connection

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(lambda: _Connection(self.timeout), self.host, self.port)
                for reply in [connection.send(*command) for command in self._handshake()]:
                    if await reply != b"OK":
                        raise RedisReadError("Redis refused the handshake")
        except (TimeoutError, OSError, RedisReadError) as exc:
            if connection is not None:
                connection.close(RedisReadError("the handshake failed"))
            if isinstance(exc, RedisReadError):
                raise
            if isinstance(exc, TimeoutError):
                raise RedisReadError("could not connect to Redis in time") from None
            raise RedisReadError(f"could not connect to Redis ({type(exc).__name__})") from None
        return connection

    def _handshake(self) -> list[tuple[bytes, ...]]:
        commands: list[tuple[bytes, ...]] = []
        if self.password is not None:
            user = (self.username.encode("utf-8"),) if self.username else ()
            commands.append((b"AUTH", *user, self.password.encode("utf-8")))
        if self.db:
            commands.append((b"SELECT", str(self.db).encode()))
        commands.append((b"CLIENT", b"SETNAME", CONNECTION_NAME))  # told apart in CLIENT LIST
        return commands

    async def close_on_loop(self) -> None:
        """Close the running loop's connection (its pending reads fail); call it before the loop
        ends (the application's shutdown does), so no socket outlives its loop."""
        connection = self._connections.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            connection.close(RedisReadError("the reader was closed"))
            await asyncio.sleep(0)  # let the transport finish closing on this loop
