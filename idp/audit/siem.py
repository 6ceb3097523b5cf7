"""Senders to a SIEM: RFC 5424 syslog over UDP or TCP (RFC 6587 octet counting), JSON over HTTP.

Syslog messages: ``<PRI>1 TIMESTAMP HOST vn-idp PID MSGID [audit@32473 ...] BOM{json}`` with
facility authpriv (10), the event type as MSGID, the sequence number, outcome and hash as
structured data (SD-ID uses the documentation enterprise number 32473 of RFC 5612), and the whole
event as JSON in the message. UDP delivery cannot be confirmed (use TCP or HTTP when every event
must arrive); TCP and HTTP raise on failure so the forwarder retries the batch later.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

FACILITY_AUTHPRIV = 10
SD_ID = "audit@32473"


class SiemSender(Protocol):
    def send(self, events: Sequence[dict[str, Any]]) -> None:
        """Deliver the events in order or raise (then none of them counts as delivered)."""

    def close(self) -> None:
        """Release connections."""


def syslog_severity(event: dict[str, Any]) -> int:
    if event["type"] == "token.reuse_detected":
        return 2
    if event["type"] == "adapter.error":
        return 3
    return 4 if event["outcome"] in ("failure", "denied") else 6


def _sd_value(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _ascii_token(value: str, limit: int) -> str:
    token = "".join(ch for ch in value if 33 <= ord(ch) <= 126)[:limit]
    return token or "-"


def syslog_message(event: dict[str, Any], hostname: str | None = None) -> bytes:
    """One RFC 5424 message for the event."""
    pri = FACILITY_AUTHPRIV * 8 + syslog_severity(event)
    host = _ascii_token(hostname or socket.gethostname(), 255)
    params = {"seq": event["seq"], "outcome": event["outcome"], "hash": event["hash"]}
    for name in ("client_id", "username", "ip"):
        if event.get(name):
            params[name] = event[name]
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = f"<{pri}>1 {event['time']} {host} vn-idp {os.getpid()} {_ascii_token(event['type'], 32)} {sd} "
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return header.encode("utf-8") + b"\xef\xbb\xbf" + body.encode("utf-8")


class SyslogUdpSender:
    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        for event in events:
            self.sock.sendto(syslog_message(event)[:65000], self.address)

    def close(self) -> None:
        self.sock.close()


class SyslogTcpSender:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        frames = b"".join(b"%d %s" % (len(m), m) for m in (syslog_message(e) for e in events))
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.sendall(frames)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class HttpJsonSender:
    """POSTs ``{"events": [...]}``; any answer but 2xx is a failure."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        response = self.client.post(self.url, json={"events": list(events)})
        response.raise_for_status()

    def close(self) -> None:
        self.client.close()


def open_sender(url: str) -> SiemSender:
    """The sender for ``IDP_AUDIT_SIEM_URL``."""
    parts = urlsplit(url)
    if parts.scheme in ("syslog+udp", "syslog+tcp"):
        if not parts.hostname or not parts.port:
            raise ValueError("a syslog SIEM URL needs a host and a port")
        if parts.scheme == "syslog+udp":
            return SyslogUdpSender(parts.hostname, parts.port)
        return SyslogTcpSender(parts.hostname, parts.port)
    if parts.scheme in ("http", "https"):
        return HttpJsonSender(url)
    raise ValueError("unknown SIEM URL scheme")
