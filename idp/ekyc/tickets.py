"""Upload tickets: what ties a reader's upload to one interaction of one signed-in person.

The chip page of an interaction issues a ticket: a random bearer token for the reader (a phone app
scanning the page's QR code, or a counter reader), with the 8-byte active-authentication nonce, the
interaction, the SSO session and the chip adapter it was made for. Only the token's SHA-256 is a
key in the short-lived store. A ticket is used once: the reader's upload consumes it, and its
result waits under the interaction until the person's browser continues.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from idp.ekyc.active import new_nonce
from idp.storage.ephemeral import EphemeralStore

TICKET_KIND = "ekyc.ticket"
RESULT_KIND = "ekyc.result"
RESULT_TTL = 600


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Ticket:
    """An issued ticket: ``token`` for the reader, ``nonce`` the chip must sign."""

    token: str
    nonce: bytes
    interaction_id: str
    session_id: str
    adapter_id: str
    expires_at: int

    def record(self) -> dict[str, Any]:
        return {"nonce": base64.b64encode(self.nonce).decode(), "interaction": self.interaction_id,
                "session": self.session_id, "adapter": self.adapter_id, "expires_at": self.expires_at}

    @classmethod
    def from_record(cls, token: str, record: dict[str, Any]) -> Ticket:
        return cls(token, base64.b64decode(record["nonce"]), record["interaction"], record["session"],
                   record["adapter"], int(record["expires_at"]))


class UploadTickets:
    """Tickets and the results waiting for their interaction, in the short-lived store."""

    def __init__(self, ephemeral: EphemeralStore) -> None:
        self._store = ephemeral

    def issue(self, *, interaction_id: str, session_id: str, adapter_id: str, ttl: int) -> Ticket:
        ticket = Ticket(secrets.token_urlsafe(32), new_nonce(), interaction_id, session_id, adapter_id,
                        int(time.time()) + ttl)
        self._store.upsert(TICKET_KIND, _key(ticket.token), ticket.record(), ttl)
        return ticket

    def peek(self, token: str) -> Ticket | None:
        """The ticket of ``token`` without using it (a reader asking for its nonce)."""
        record = self._store.find(TICKET_KIND, _key(token)) if 0 < len(token) <= 128 else None
        return Ticket.from_record(token, record) if record else None

    def use(self, token: str) -> Ticket | None:
        """The ticket of ``token``, used up: of two uploads with one token only one gets it."""
        record = self._store.consume(TICKET_KIND, _key(token)) if 0 < len(token) <= 128 else None
        return Ticket.from_record(token, record) if record else None

    def put_result(self, interaction_id: str, result: dict[str, Any]) -> None:
        self._store.upsert(RESULT_KIND, interaction_id, result, RESULT_TTL)

    def take_result(self, interaction_id: str) -> dict[str, Any] | None:
        """The result waiting for the interaction, taken (a result continues one interaction once)."""
        return self._store.consume(RESULT_KIND, interaction_id)
