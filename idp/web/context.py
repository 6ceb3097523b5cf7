"""Per-request context: request id, client address, the provider's settings.

The request id comes from a well-formed incoming ``X-Request-ID`` (a proxy's) or is generated; it
is echoed in the response, shown on error pages and carried into audit events.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import secrets
from collections.abc import MutableMapping
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from idp.audit.context import audit_context as build_audit_context
from idp.audit.events import AuditContext
from idp.observability.logs import REQUEST_ID
from idp.settings import Settings, load_settings

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_STATE_KEY = "idp.request_id"


def new_request_id(incoming: str | None = None) -> str:
    """The incoming id when it is well formed (letters, digits, ``._:-``, at most 64), else a new one.

    New ids are unique, not secret: a random prefix per process and a counter (no system
    randomness read per request)."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return _IDS.next()


class _RequestIds:
    """``<8 random hex of this process>-<counter>``; a forked worker gets a prefix of its own."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count(1)

    def next(self) -> str:
        if self._pid != os.getpid():
            self._pid, self._prefix, self._counter = os.getpid(), secrets.token_hex(4), itertools.count(1)
        return f"{self._prefix}-{next(self._counter):x}"


_IDS = _RequestIds()


def bind_request_id(scope: MutableMapping[str, Any], request_id: str) -> None:
    """Remember the request id in the ASGI scope, where every ``Request`` of this call sees it, and
    for the log lines written while it is answered."""
    scope.setdefault("state", {})[_STATE_KEY] = request_id
    REQUEST_ID.set(request_id)


def request_id(request: Request) -> str:
    """This request's id (one is made and remembered if the middleware did not run)."""
    state = request.scope.setdefault("state", {})
    if _STATE_KEY not in state:
        state[_STATE_KEY] = new_request_id(request.headers.get(REQUEST_ID_HEADER))
    return str(state[_STATE_KEY])


def settings_of(request: Request) -> Settings:
    """The settings of the app serving this request (defaults when the app has none)."""
    settings = getattr(request.app.state, "settings", None) if "app" in request.scope else None
    return settings if isinstance(settings, Settings) else _default_settings()


@cache
def _default_settings() -> Settings:
    return load_settings()


def client_ip(request: Request) -> str | None:
    """The client's address (see :func:`forwarded_client`): the connection's, or behind one of
    ``IDP_TRUSTED_PROXIES`` the right-most ``X-Forwarded-For`` entry that is not a proxy of ours.
    None only when the server gives no connection address (then the throttle counts "unknown")."""
    connection = request.client.host if request.client else None
    proxies = _proxy_networks(tuple(settings_of(request).trusted_proxies))
    if not proxies:
        return _canonical(connection) or connection
    return forwarded_client(connection, request.headers.getlist("x-forwarded-for"), proxies)


def from_trusted_proxy(request: Request) -> bool:
    """Whether the connection comes from one of ``IDP_TRUSTED_PROXIES``: only such a request's
    headers set by the proxy (a client certificate, X-Forwarded-For) may be believed."""
    peer = _address(request.client.host if request.client else None)
    proxies = _proxy_networks(tuple(settings_of(request).trusted_proxies))
    return peer is not None and any(peer in network for network in proxies)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _proxy_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address in its usual spellings (an IPv4-mapped IPv6 address as the IPv4 one), else None."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _canonical(value: str | None) -> str | None:
    address = _address(value)
    return str(address) if address is not None else None


def forwarded_client(connection: str | None, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str | None:
    """Who sent a request that reached us from ``connection`` with these ``X-Forwarded-For`` headers.

    Only a connection from one of ``proxies`` has its header read (anyone else could write one).
    Each proxy appends the address it was reached from, so the list is read from the right: our
    own proxies are skipped and the first other entry is the client; entries further left were
    written by the client itself and are never used. That entry must be an IP address: anything
    else (``unknown``, a port, a name) leaves the connection's address. When every entry is one of
    our proxies, the left-most is the client (a request from inside our own networks)."""
    peer = _address(connection)
    if peer is None or not any(peer in network for network in proxies):
        return str(peer) if peer is not None else connection
    entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    client = peer
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return str(peer)
        client = address
        if not any(address in network for network in proxies):
            break
    return str(client)


def audit_context(request: Request, session_id: str | None = None) -> AuditContext:
    """Where this request came from, for audit events (values clipped as the audit table holds them)."""
    return build_audit_context(ip=client_ip(request), user_agent=request.headers.get("user-agent"),
                               request_id=request_id(request), session_id=session_id)


def request_path(request: Request) -> str:
    """``request.url.path`` (the same escaping) without building the URL."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def query_items(request: Request) -> list[tuple[str, str]]:
    """The query string's (name, value) pairs as ``request.query_params`` reads them, without building
    that (nor the request's URL, whose Host header parsing costs more than the rest of this)."""
    raw = request.scope.get("query_string", b"")
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes (or says it will be, or
    gives a malformed length): never more than ``limit`` bytes are read and kept, so an endless
    or huge body costs the server no memory (the framework and the HTTP server set no limit)."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isdigit() and int(declared) <= limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
