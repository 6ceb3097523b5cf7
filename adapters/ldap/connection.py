"""Connections to the directory: verified TLS, failover over the configured URLs, timeouts and a
small pool of service-account connections (user binds get a connection of their own)."""

from __future__ import annotations

import logging
import queue
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from ldap3 import NONE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException

from adapters.base import SourceUnavailable
from adapters.ldap.config import LdapConfig

log = logging.getLogger("adapters.ldap")


class VerifiedTls(Tls):
    """ldap3's Tls with the standard library's certificate and host-name checks (TLS 1.2+)."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self._ca_file = ca_file

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(cafile=self._ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        connection.socket = context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=True,
            server_hostname=connection.server.host,
        )


class DirectoryConnections:
    """Opens connections to the first URL that answers; keeps bound service connections."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        tls = VerifiedTls(str(config.ca_file) if config.ca_file else None)
        self._servers = []
        for url in config.urls:
            parts = urlsplit(url)
            use_ssl = parts.scheme == "ldaps"
            self._servers.append(Server(
                parts.hostname or "", port=parts.port or (636 if use_ssl else 389), use_ssl=use_ssl,
                tls=tls, connect_timeout=config.connect_timeout, get_info=NONE,
            ))
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()

    def open(self, user: str | None = None, password: str | None = None) -> Connection:
        """An open (TLS-upgraded, not yet bound) connection; raise SourceUnavailable."""
        reasons = []
        for server in self._servers:
            conn = Connection(
                server, user=user, password=password, client_strategy=SYNC, read_only=True,
                receive_timeout=self.config.receive_timeout, raise_exceptions=False, auto_referrals=False,
            )
            try:
                conn.open()
                if self.config.start_tls and not server.ssl and not conn.start_tls():
                    raise SourceUnavailable("StartTLS refused")
                return conn
            except (LDAPException, OSError, SourceUnavailable) as exc:
                reasons.append(f"{server.host}:{server.port}: {type(exc).__name__}")
                close_quietly(conn)
        log.warning("directory unreachable: %s", "; ".join(reasons))
        raise SourceUnavailable("directory unreachable")

    def _service_connection(self) -> Connection:
        conn = self.open(self.config.bind_dn, self.config.service_password())
        try:
            bound = conn.bind() if self.config.bind_dn else True
        except (LDAPException, OSError):
            close_quietly(conn)
            raise SourceUnavailable("directory unreachable") from None
        if not bound:
            close_quietly(conn)
            log.error("service account bind refused: %s", conn.result.get("description"))
            raise SourceUnavailable("service account bind refused")
        return conn

    @contextmanager
    def service(self) -> Iterator[Connection]:
        """A bound service connection from the pool, returned to it afterwards if still healthy."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._service_connection()
        healthy = False
        try:
            yield conn
            healthy = not conn.closed
        finally:
            if healthy and self._idle.qsize() < self.config.pool_size:
                self._idle.put(conn)
            else:
                close_quietly(conn)

    def discard_idle(self) -> None:
        """Drop pooled connections (after a failure: the server may have restarted)."""
        while True:
            try:
                close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return

    def close(self) -> None:
        self.discard_idle()


def close_quietly(conn: Connection) -> None:
    with suppress(LDAPException, OSError):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with suppress(OSError):
            sock.close()
