"""The counter (one-stop-shop, "một cửa") mode: an official reads a citizen's chip ID card at the
counter, and the verified identity becomes a signed statement to attach to a service request.

Only an official signed in with a second factor (``local-mfa``: a directory or local account with
TOTP) or a hardware certificate (``pki-hw``) may use it. The official's page issues an upload
ticket bound to their session (not to an authorization); the counter reader posts the card as a
phone would (idp/endpoints/ekyc.py); the official then names the service request and receives the
statement: a JWS (``typ`` ``ekyc-statement+jwt``) signed with the provider's current key, which a
relying party verifies against the provider's JWKS. It carries the ``verified_claims`` of
idp/ekyc/assurance.py (with the card number), the service request's reference, and the official
as the verifier. Each statement is audited (``ekyc.counter``; its id, never the citizen's data).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from idp.audit.types import EKYC_COUNTER
from idp.ekyc.assurance import CLAIM, with_document_number
from idp.ekyc.service import ChipVerifications, Recorder
from idp.ekyc.tickets import Ticket
from idp.errors import PageError
from idp.sessions import SsoSession
from keys.jwt import encode_jwt
from keys.ring import KeyRing

STATEMENT_TYPE = "ekyc-statement+jwt"
COUNTER_LEVELS = ("local-mfa", "pki-hw")
STATEMENT_TTL = 30 * 24 * 3600
EVENT = EKYC_COUNTER
MAX_REFERENCE = 128


class CounterDesk:
    """Built once by the compose step over the chip verifications, the key ring and the audit trail."""

    def __init__(self, *, issuer: str, verifications: ChipVerifications, ring: KeyRing, audit: Recorder) -> None:
        self.issuer = issuer
        self.verifications = verifications
        self.ring = ring
        self.audit = audit

    def _official(self, session: SsoSession | None) -> SsoSession:
        allowed = {f"{self.issuer}/acr/{level}" for level in COUNTER_LEVELS}
        if session is None or session.acr not in allowed:
            raise PageError("counter_forbidden", status_code=403)
        return session

    def _chip_id(self) -> str:
        chips = [e.id for e in self.verifications.adapters.entries if e.type == "cccd-chip"]
        return chips[0]

    def open(self, session: SsoSession | None) -> tuple[str, Ticket, int]:
        """A new counter read for the official: its id, the reader's ticket, the ticket's lifetime."""
        official = self._official(session)
        chip = self.verifications.chip(self._chip_id())
        counter_id = "counter-" + secrets.token_urlsafe(16)
        ticket = self.verifications.tickets.issue(interaction_id=counter_id, session_id=official.id,
                                                  adapter_id=chip.id, ttl=chip.upload_ttl)
        return counter_id, ticket, chip.upload_ttl

    def statement(self, session: SsoSession | None, counter_id: str, service_request: str, *,
                  context: Any) -> str:
        """The signed statement of the card read for ``counter_id``; PageError ``chip_not_read`` /
        ``chip_refused`` when there is none, ``invalid_request`` for a missing reference."""
        official = self._official(session)
        reference = service_request.strip()
        if not reference or len(reference) > MAX_REFERENCE or not counter_id.startswith("counter-"):
            raise PageError("invalid_request")
        result = self.verifications.tickets.take_result(counter_id)
        if result is None:
            raise PageError("chip_not_read", status_code=409)
        if result.get("outcome") != "verified" or result.get("session") != official.id:
            raise PageError("chip_refused", status_code=400, detail=str(result.get("reason")))
        claims = result["claims"]
        verified = with_document_number({CLAIM: claims[CLAIM]}, claims["vn_personal_id"])[CLAIM]
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        body = {"iss": self.issuer, "iat": now, "exp": now + STATEMENT_TTL, "jti": jti,
                "service_request": reference, CLAIM: verified,
                "verifier": {"username": official.username, "acr": official.acr, "amr": list(official.amr)}}
        token = encode_jwt(self.ring.signer(), body, typ=STATEMENT_TYPE)
        self.audit.record(EVENT, context=context, subject=official.subject_id, username=official.username,
                          acr=official.acr, details={"statement": jti, "service_request": reference})
        return token
