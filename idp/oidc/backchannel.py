"""Delivering back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5, §2.8).

When a session ends, every client of it with a ``backchannel_logout_uri`` gets a logout token.
Deliveries run on one background thread so logging out never waits for a relying party: a bounded
queue (a full queue drops and audits the delivery), ``backchannel_logout_attempts`` attempts with
exponential back-off from ``backchannel_logout_backoff_seconds``, each attempt audited as
``logout.backchannel`` (outcome, HTTP status or error class, attempt number; never the token).
Requests go through :mod:`idp.net.outbound`: a URI whose host resolves to an address that is not
public (loopback only with ``allow_loopback_client_urls``, private networks only when listed in
``outbound_allowed_networks``) is never contacted; that delivery fails at once, without retries
(reason ``OutboundRefused``), and is logged with the host and address, never the token.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from idp.net.outbound import OutboundPolicy, OutboundRefused, outbound_client
from idp.oidc.subject_ids import SubjectIdentifiers
from idp.settings import Settings
from idp.specs.oidc_backchannel import logout_token_claims, sign_logout_token
from idp.storage.models import Client
from keys.ring import KeyRing

if TYPE_CHECKING:
    from idp.sessions import SsoSession

log = logging.getLogger(__name__)
EVENT = "logout.backchannel"
QUEUE_SIZE = 1000


class _Clients(Protocol):
    def find_client(self, client_id: str | None) -> Client | None: ...


class _Recorder(Protocol):
    def record(self, event_type: str, **fields: Any) -> None: ...


@dataclass(frozen=True)
class Delivery:
    client_id: str
    uri: str
    token: str
    subject_id: str | None
    sid: str | None


class BackchannelLogout:
    """Builds logout tokens at logout and delivers them in the background."""

    def __init__(self, *, settings: Settings, issuer: str, clients: _Clients, subject_ids: SubjectIdentifiers,
                 ring: KeyRing, recorder: _Recorder) -> None:
        self.issuer = issuer
        self.clients = clients
        self.subject_ids = subject_ids
        self.ring = ring
        self.recorder = recorder
        self.attempts = settings.backchannel_logout_attempts
        self.backoff = settings.backchannel_logout_backoff_seconds
        self.timeout = settings.backchannel_logout_timeout_seconds
        self.outbound = OutboundPolicy.from_settings(settings)
        self._queue: queue.Queue[Delivery | None] = queue.Queue(QUEUE_SIZE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self, session: SsoSession, client_ids: list[str]) -> int:
        """Queue a logout token for every client of ``session`` that registered a back-channel URI;
        return how many were queued."""
        return self.notify_person(session.subject_id, session.sid, client_ids)

    def notify_person(self, subject_id: str | None, sid: str | None, client_ids: list[str]) -> int:
        """As :meth:`notify`, for a session known only by its person and ``sid`` (a grant's record,
        when the session itself is out of reach); return how many tokens were queued."""
        queued = 0
        for client_id in client_ids:
            client = self.clients.find_client(client_id)
            uri = client.extra.get("backchannel_logout_uri") if client else None
            if client is None or not isinstance(uri, str):
                continue
            sub = self.subject_ids.for_client(subject_id, client) if subject_id else None
            if sub is None and sid is None:
                continue
            claims = logout_token_claims(self.issuer, client, sub=sub, sid=sid)
            delivery = Delivery(client_id, uri, sign_logout_token(self.ring, client, claims), subject_id, sid)
            try:
                self._queue.put_nowait(delivery)
            except queue.Full:
                self._audit(delivery, "failure", 0, "queue_full")
                continue
            queued += 1
        if queued:
            self._ensure_thread()
        return queued

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="backchannel-logout", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with outbound_client(self.outbound, timeout=self.timeout) as http:
            while not self._stop.is_set():
                delivery = self._queue.get()
                if delivery is None:
                    return
                self._deliver(http, delivery)

    def _deliver(self, http: httpx.Client, delivery: Delivery) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = http.post(delivery.uri, data={"logout_token": delivery.token},
                                     headers={"Cache-Control": "no-cache"})
                status = response.status_code
                reason = None if 200 <= status < 300 else f"http_{status}"
            except OutboundRefused as exc:  # refused by policy, not a passing failure: no retry
                log.warning("back-channel logout to client %s not sent: %s", delivery.client_id, exc)
                self._audit(delivery, "failure", attempt, type(exc).__name__)
                return
            except httpx.HTTPError as exc:
                status, reason = 0, type(exc).__name__
            last = attempt == self.attempts
            self._audit(delivery, "success" if reason is None else "failure", attempt, reason, status=status,
                        final=reason is None or last)
            if reason is None or last or self._stop.wait(self.backoff * 2 ** (attempt - 1)):
                return

    def _audit(self, delivery: Delivery, outcome: str, attempt: int, reason: str | None, *, status: int = 0,
               final: bool = True) -> None:
        try:
            self.recorder.record(EVENT, outcome=outcome, client_id=delivery.client_id, subject=delivery.subject_id,
                                 reason=reason, details={"attempt": attempt, "status": status, "final": final,
                                                         "sid": delivery.sid})
        except Exception:  # an audit failure must not kill the delivery thread
            log.exception("could not audit a back-channel logout delivery")

    def drain(self, timeout: float) -> bool:
        """Deliver what is queued (with its retries) and stop, waiting at most ``timeout`` seconds
        (a short-lived process, such as ``idp sessions revoke``, before it exits); False when
        deliveries were still running at the end (they are then abandoned)."""
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            self.close(0)
            return False
        thread.join(timeout)
        if thread.is_alive():
            self.close(0)
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the delivery in progress (pending ones are dropped)."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout)
