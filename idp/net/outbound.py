"""HTTP requests to URLs that relying parties supply (``jwks_uri``, ``backchannel_logout_uri``),
guarded against server-side request forgery: they reach public addresses only.

Choices:
- The check sits where the socket is opened, in an httpcore network backend: the host is resolved
  once (getaddrinfo; a literal IP is taken as is), the connection is refused when ANY of the answers
  is not a public address, and the socket then connects to one of the checked addresses, never to
  the name (no second resolution, so DNS rebinding cannot swap the address after the check). The
  URL is left alone, so the Host header, the TLS server name (SNI) and the certificate check all
  stay those of the host name: httpcore starts TLS with the URL's host whatever address the socket
  reached. Chosen over sending the request to the IP with ``extensions={"sni_hostname": ...}``,
  which needs a hand-built Host header, tries one address only, and guards just the requests that
  remember to do it; at the socket every connection the client opens is checked.
- Not public: loopback (reachable only when ``allow_loopback_client_urls`` is on), private,
  link-local (169.254.169.254, the cloud metadata service), shared 100.64/10, multicast, reserved,
  unspecified, documentation and benchmarking blocks, site-local, and the same addresses carried
  inside IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) IPv6 addresses.
  The operator may open private networks with ``outbound_allowed_networks`` (empty by default).
- An IP literal is read as the resolver reads it (:func:`idp.net.hosts.host_address`: the legacy IPv4 spellings
  ``127.1``, ``0x7f.0.0.1``, ``2130706433`` included). Client registration uses the same reading and
  the same :meth:`OutboundPolicy.refusal` to refuse a literal the fetch would refuse; names are only
  resolved when fetched.
- No proxy and no netrc from the environment: a proxy would resolve the host itself, and the check
  would then be about the proxy. The CA bundle variables (SSL_CERT_FILE, SSL_CERT_DIR) still apply.
- A refusal is :class:`OutboundRefused`, an ``httpx.TransportError`` (callers that handle failed
  requests handle it); its message names the host, the address and why, never the URL's path or
  query.
- Resolution has no timeout of its own (the system resolver's, as before this module).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from idp.errors import IdpError
from idp.net.hosts import IPAddress, host_address

if TYPE_CHECKING:
    from idp.settings import Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SHARED = ipaddress.IPv4Network("100.64.0.0/10")
# IANA special-purpose blocks that are no relying party's server. ``is_global`` knows most of them,
# but older Python releases miss some (100.64/10, 64:ff9b:1::/48, site-local...), so they are listed.
SPECIAL_PURPOSE = tuple(ipaddress.ip_network(block) for block in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16", "fec0::/10",
))


class OutboundRefused(httpx.TransportError, IdpError):
    """An outbound request was not sent: its host resolves to an address the policy refuses."""


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 64:ff9b::/96, 6to4), if any:
    a connection to it reaches that IPv4 host."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def not_public(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (a few words), or None when it is one."""
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in SHARED, "shared (100.64.0.0/10)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (any(address in block for block in SPECIAL_PURPOSE), "special-purpose"),
        (not address.is_global, "not global"),
    )
    return next((why for refused, why in checks if refused), None)


@dataclass(frozen=True)
class OutboundPolicy:
    """Which addresses requests to client-supplied URLs may reach: public ones, loopback when
    ``allow_loopback``, and anything inside ``allowed_networks``."""

    allow_loopback: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(allow_loopback=settings.allow_loopback_client_urls,
                   allowed_networks=tuple(ipaddress.ip_network(n) for n in settings.outbound_allowed_networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why a connection to ``address`` is refused, or None when it may be made."""
        inner = embedded_ipv4(address)
        candidates = [address] if inner is None else [address, inner]
        if any(candidate in network for candidate in candidates for network in self.allowed_networks):
            return None
        target = inner if inner is not None else address
        if target.is_loopback:
            return None if self.allow_loopback else "loopback"
        return not_public(target)

    def checked_addresses(self, host: str, port: int, resolve: Resolver) -> list[str]:
        """Every address of ``host`` (a literal IP is its own answer); OutboundRefused when any of
        them is refused, httpcore.ConnectError when the name does not resolve."""
        literal = host_address(host)
        if literal is not None:
            answers: Sequence[str] = [str(literal)]
        else:
            try:
                answers = resolve(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} could not be resolved ({type(exc).__name__})") from None
        if not answers:
            raise httpcore.ConnectError(f"{host} has no address")
        for answer in answers:
            try:
                why = self.refusal(ipaddress.ip_address(answer))
            except ValueError:
                why = "not an IP address"
            if why is not None:
                raise OutboundRefused(f"requests to {host} are refused: {answer} is {why}")
        return list(answers)


def system_resolver(host: str, port: int) -> list[str]:
    """Every TCP address of ``host`` (getaddrinfo), in the system's order of preference."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


class CheckedNetworkBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses the policy allows, to the very address it checked.

    ``connection`` is the backend that makes the socket (httpcore's own by default); it is given the
    checked IP, never the host name."""

    def __init__(self, policy: OutboundPolicy, *, resolve: Resolver = system_resolver,
                 connection: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self._resolve = resolve
        self._connection = connection if connection is not None else httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = self.policy.checked_addresses(host, port, self._resolve)
        deadline = None if timeout is None else time.monotonic() + timeout
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # the next address when one does not answer (within one timeout)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
            try:
                return self._connection.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise OutboundRefused("requests to client-supplied URLs never use a unix socket")

    def sleep(self, seconds: float) -> None:
        self._connection.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport over a :class:`CheckedNetworkBackend` (no proxy, HTTP/1.1)."""

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | None = None,
                 resolve: Resolver = system_resolver, connection: httpcore.NetworkBackend | None = None) -> None:
        context = verify if verify is not None else httpx.create_ssl_context(trust_env=True)
        super().__init__(verify=context)
        # httpx does not take a network backend, so its pool is replaced by an equal one that uses ours.
        # Fail closed if a future httpx no longer keeps its pool there.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport changed: the outbound address check cannot be installed")
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, max_connections=10, max_keepalive_connections=10, keepalive_expiry=5.0,
            network_backend=CheckedNetworkBackend(policy, resolve=resolve, connection=connection))


def outbound_client(policy: OutboundPolicy, *, timeout: float, verify: ssl.SSLContext | None = None,
                    resolve: Resolver = system_resolver,
                    connection: httpcore.NetworkBackend | None = None) -> httpx.Client:
    """An httpx client for client-supplied URLs: connects only where ``policy`` allows, follows no
    redirect, ignores proxy and netrc variables. ``verify`` replaces the CA bundle (tests);
    ``resolve`` and ``connection`` replace the system resolver and httpcore's socket backend (tests)."""
    return httpx.Client(transport=CheckedTransport(policy, verify=verify, resolve=resolve, connection=connection),
                        timeout=timeout, follow_redirects=False, trust_env=False)
