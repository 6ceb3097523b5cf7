"""SIEM streaming: RFC 5424 over UDP/TCP and JSON over HTTP on loopback; a SIEM that is down
never blocks recording, and gets every event once it is back."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from idp.audit.forwarding import AuditForwarder
from idp.audit.siem import HttpJsonSender, SyslogTcpSender, SyslogUdpSender, open_sender, syslog_message
from idp.audit.sql import SqlAuditLog
from idp.storage.sql import SqlStorage
from tests.unit.audit.conftest import signin

RFC5424 = re.compile(rb"^<(\d+)>1 (\S+) (\S+) vn-idp (\d+) (\S+) \[audit@32473 seq=\"(\d+)\"[^\]]*\] \xef\xbb\xbf(.*)$",
                     re.S)


class TcpSyslogServer:
    """Collects RFC 6587 octet-counted frames on a loopback port."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.buffer = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(65536):
                    with self.lock:
                        self.buffer += chunk

    def messages(self) -> list[bytes]:
        with self.lock:
            data = self.buffer
        out = []
        while data:
            length, _, rest = data.partition(b" ")
            out.append(rest[: int(length)])
            data = rest[int(length):]
        return out

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() call, so the port really closes
        self.sock.close()


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def log(sqlite_storage: SqlStorage) -> SqlAuditLog:
    return SqlAuditLog(sqlite_storage.db)


def test_syslog_message_is_rfc5424(log: SqlAuditLog) -> None:
    from idp.audit.query import event_json

    row = log.append(signin(1, outcome="failure", reason="wrong_password"))
    message = syslog_message(event_json(row), hostname="idp-1")
    match = RFC5424.match(message)
    assert match, message
    assert int(match[1]) == 10 * 8 + 4  # authpriv.warning for a failed sign-in
    assert match[3] == b"idp-1" and match[5] == b"signin" and match[6] == b"1"
    assert json.loads(match[7])["reason"] == "wrong_password"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tcp_siem_down_then_back_gets_every_event_in_order(log: SqlAuditLog) -> None:
    port = closed_port()  # the SIEM is down
    forwarder = AuditForwarder(log.db, SyslogTcpSender("127.0.0.1", port, timeout=1), batch=2)
    server = None
    try:
        started = time.monotonic()
        for n in range(5):
            log.record(signin(n))  # recording never waits for the SIEM
        assert time.monotonic() - started < 5
        with pytest.raises(OSError):
            forwarder.deliver()
        assert forwarder.cursor() == 0

        server = TcpSyslogServer(port)  # the SIEM is back
        while forwarder.deliver():
            pass
        wait_for(lambda: len(server.messages()) == 5)
        seqs = [int(RFC5424.match(m)[6]) for m in server.messages()]  # type: ignore[index]
        assert seqs == [1, 2, 3, 4, 5] and forwarder.cursor() == 5
        log.record(signin(6))
        assert forwarder.deliver() == 1
        wait_for(lambda: len(server.messages()) == 6)
    finally:
        forwarder.stop()
        if server is not None:
            server.close()


def test_udp_syslog(log: SqlAuditLog) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sender = open_sender(f"syslog+udp://127.0.0.1:{receiver.getsockname()[1]}")
        assert isinstance(sender, SyslogUdpSender)
        forwarder = AuditForwarder(log.db, sender)
        log.record(signin(1))
        assert forwarder.deliver() == 1
        assert RFC5424.match(receiver.recv(65536))
        forwarder.stop()


@pytest.fixture
def http_siem() -> Iterator[tuple[str, list[dict], list[int]]]:
    received: list[dict] = []
    statuses: list[int] = []  # answers to give, then 200

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = statuses.pop(0) if statuses else 200
            if status == 200:
                received.extend(json.loads(body)["events"])
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", received, statuses
    server.shutdown()
    server.server_close()


def test_http_json_siem_retries_after_an_error(log: SqlAuditLog, http_siem: tuple[str, list[dict], list[int]]
                                               ) -> None:
    url, received, statuses = http_siem
    statuses.append(503)
    forwarder = AuditForwarder(log.db, HttpJsonSender(url), interval=0.05)
    for n in range(3):
        log.record(signin(n))
    forwarder.start()  # the background thread survives the 503 and delivers on the next round
    try:
        wait_for(lambda: len(received) == 3)
        assert [e["seq"] for e in received] == [1, 2, 3] and received[0]["type"] == "signin"
    finally:
        forwarder.stop()
    assert forwarder.cursor() == 3


def test_one_replica_forwards_at_a_time(log: SqlAuditLog, http_siem: tuple[str, list[dict], list[int]]) -> None:
    url, received, _ = http_siem
    first = AuditForwarder(log.db, HttpJsonSender(url))
    second = AuditForwarder(log.db, HttpJsonSender(url))
    log.record(signin(1))
    assert first.deliver() == 1
    log.record(signin(2))
    assert second.deliver() == 0  # the first holds the lease
    assert first.deliver() == 1
    assert [e["seq"] for e in received] == [1, 2]
    first.stop()
    second.stop()
