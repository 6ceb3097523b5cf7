"""A small keep-alive HTTP/1.1 client on asyncio streams and httptools, for the multi-step flows.

Why not httpx: the driver runs on one core next to the servers, and a general client spends more
time per request than the servers being measured. This one does what the flows need and no more:
one connection per worker, Content-Length bodies, chunked responses (httptools decodes them),
cookies kept by the caller (``CookieJar``), redirects followed by the caller.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import httptools


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class CookieJar:
    """Cookies of one simulated browser (one host; path and expiry are not needed here)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def update(self, set_cookies: list[str]) -> None:
        for line in set_cookies:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(line)
            for name, morsel in parsed.items():
                expired = morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970")
                if expired or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def header(self) -> str | None:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items()) or None


class _Parser:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.set_cookies: list[str] = []
        self.body = bytearray()
        self.done = False
        self._name = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key == "set-cookie":
            self.set_cookies.append(text)
        self.headers[key] = text

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive connection to ``host:port``; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        for attempt in (0, 1):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await asyncio.wait_for(self._exchange(method, target, headers or {}, body), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError, httptools.HttpParserError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        start = time.perf_counter()
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        parser = _Parser()
        http = httptools.HttpResponseParser(parser)
        while not parser.done:
            chunk = await self._reader.read(65536)
            if not chunk:
                raise ConnectionResetError("server closed the connection")
            http.feed_data(chunk)
        elapsed = time.perf_counter() - start
        if not http.should_keep_alive():
            await self.close()
        return Response(http.get_status_code(), parser.headers, parser.set_cookies, bytes(parser.body), elapsed)


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode each part, then base64 ``id:secret``."""
    raw = f"{urlencode({'a': client_id})[2:]}:{urlencode({'a': secret})[2:]}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def form_body(fields: dict[str, str] | list[tuple[str, str]]) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(fields).encode()


def target_of(url: str) -> str:
    """The request target (path and query) of an absolute or relative URL."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
