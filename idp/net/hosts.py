"""URL hosts read as the system resolver reads them (standard library only, so that settings
validation can use it without the HTTP client's imports)."""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# What inet_aton may read as an IPv4 address: one to four parts, each decimal, octal (leading 0) or
# hex (0x). Only ASCII; inet_aton itself decides (range of each part); glibc's tolerance of
# anything after a space is never reached.
LEGACY_IPV4 = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")


def host_address(host: str) -> IPAddress | None:
    """The IP address a URL host stands for, or None when it is a name (resolved when fetched).

    Reads what the resolver reads as a literal: IPv6 with or without brackets (IPv4-mapped
    included), dotted quads, and the legacy IPv4 spellings inet_aton accepts (``127.1``,
    ``0x7f.0.0.1``, ``0177.0.0.1``, ``2130706433``). A trailing dot makes a name (``127.0.0.1.``
    goes to DNS), as do ``127.0.0.1.example.com`` and non-ASCII digits."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if LEGACY_IPV4.fullmatch(host) is None:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:  # a part out of range, an 8 or 9 in octal...
        return None
