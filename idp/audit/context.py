"""Building an :class:`AuditContext` from plain request values, and what is done to them before
they are stored: the session id is hashed, the source address optionally truncated.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from dataclasses import dataclass

from idp.audit.events import AuditContext

USER_AGENT_MAX = 512
REQUEST_ID_MAX = 128


def audit_context(
    *, ip: str | None = None, user_agent: str | None = None, request_id: str | None = None,
    session_id: str | None = None,
) -> AuditContext:
    """The context of one request from plain values (the HTTP layer fills it; the CLI leaves it empty).

    Values are stripped and clipped to what the audit table holds; empty strings become ``None``.
    """
    return AuditContext(
        ip=_clean(ip, 64),
        user_agent=_clean(user_agent, USER_AGENT_MAX),
        request_id=_clean(request_id, REQUEST_ID_MAX),
        session_id=_clean(session_id, 4096),
    )


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.replace("\x00", "").strip()[:limit]
    return value or None


def hash_session_id(session_id: str | None) -> str | None:
    """The stored form of a session id: SHA-256 hex (session ids are random, so no salt is needed)."""
    if not session_id:
        return None
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IpTruncation:
    """How many leading bits of a source address are kept (32/128: the whole address)."""

    v4_prefix: int = 32
    v6_prefix: int = 128

    @classmethod
    def parse(cls, text: str) -> IpTruncation:
        """``none`` (keep whole) or ``<v4 bits>/<v6 bits>``, for example ``24/48``."""
        text = text.strip().lower()
        if text in ("", "none", "off"):
            return cls()
        v4, sep, v6 = text.partition("/")
        if not sep or not v4.isdigit() or not v6.isdigit():
            raise ValueError("must be 'none' or '<IPv4 bits>/<IPv6 bits>', for example '24/48'")
        result = cls(int(v4), int(v6))
        if not (0 <= result.v4_prefix <= 32 and 0 <= result.v6_prefix <= 128):
            raise ValueError("IPv4 bits must be 0-32 and IPv6 bits 0-128")
        return result

    def apply(self, ip: str | None) -> str | None:
        """The address with the host bits zeroed; a value that is not an address is kept (clipped,
        without NUL characters). Remembered per address: the same clients come back all day."""
        return _truncated(ip, self.v4_prefix, self.v6_prefix) if ip else None


@functools.lru_cache(maxsize=4096)
def _truncated(ip: str, v4_prefix: int, v6_prefix: int) -> str:
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return ip.replace("\x00", "")[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = v4_prefix if address.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def operator_name(named: str | None = None) -> str:
    """Who runs an ``idp`` command, for the ``actor`` of administrator events: the name the operator
    gave (``--operator``, else ``IDP_OPERATOR``), else ``cli:<login>``."""
    import getpass

    if named is not None and named.strip():
        return _clean(named, 128) or "cli"
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # noqa: BLE001 - containers may have no user name
        return "cli"
