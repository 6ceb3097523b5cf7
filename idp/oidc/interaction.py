"""What an authorization request needs next: a sign-in, consent, or nothing (issue the code).

OIDC Core §3.1.2.3-§3.1.2.4: ``prompt=login`` and ``max_age`` force a fresh sign-in (satisfied by
the one done during this interaction); ``prompt=none`` turns any needed interaction into
``login_required`` / ``consent_required``; an ``id_token_hint`` naming someone else than the
signed-in person needs a new sign-in. The client's policy (policies/) adds its own checks.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.ephemeral import EphemeralStore

KIND = "interaction"
TTL = 15 * 60

LOGIN = "login"
CONSENT = "consent"
ISSUE = "issue"


@dataclass(frozen=True)
class Step:
    """``kind`` is LOGIN, CONSENT or ISSUE; or ``error`` (an OAuth error code for the client)."""

    kind: str | None
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Interaction:
    """A pending authorization request and what the person did about it so far."""

    id: str
    request: AuthorizationRequest
    logged_in_at: int | None = None
    consented: bool = False
    session_id: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {"request": self.request.to_record(), "logged_in_at": self.logged_in_at,
                "consented": self.consented, "session_id": self.session_id}


class InteractionStore:
    def __init__(self, store: EphemeralStore) -> None:
        self.store = store

    def create(self, request: AuthorizationRequest) -> Interaction:
        interaction = Interaction(id=secrets.token_urlsafe(24), request=request)
        self.store.upsert(KIND, interaction.id, interaction.to_record(), TTL)
        return interaction

    def get(self, interaction_id: str | None) -> Interaction | None:
        if not interaction_id or len(interaction_id) > 64:
            return None
        record = self.store.find(KIND, interaction_id)
        if record is None:
            return None
        return Interaction(id=interaction_id, request=AuthorizationRequest.from_record(record["request"]),
                           logged_in_at=record["logged_in_at"], consented=record["consented"],
                           session_id=record.get("session_id"))

    def save(self, interaction: Interaction) -> None:
        self.store.upsert(KIND, interaction.id, interaction.to_record(), TTL)

    def finish(self, interaction_id: str) -> Interaction | None:
        """Consume the interaction (single use: a finished request cannot be replayed)."""
        record = self.store.consume(KIND, interaction_id)
        if record is None:
            return None
        return Interaction(id=interaction_id, request=AuthorizationRequest.from_record(record["request"]),
                           logged_in_at=record["logged_in_at"], consented=record["consented"],
                           session_id=record.get("session_id"))


def login_needed(request: AuthorizationRequest, session_auth_time: int | None, *, fresh: bool,
                 hint_matches: bool, now: float | None = None) -> bool:
    if session_auth_time is None:
        return True
    if fresh:
        return False
    now = time.time() if now is None else now
    if "login" in request.prompt or not hint_matches:
        return True
    return request.max_age is not None and now - session_auth_time > request.max_age


def next_step(request: AuthorizationRequest, *, need_login: bool, need_consent: bool) -> Step:
    """Turn the needs into a step, honouring ``prompt=none``."""
    silent = "none" in request.prompt
    if need_login:
        return Step(None, error="login_required") if silent else Step(LOGIN)
    if need_consent:
        return Step(None, error="consent_required") if silent else Step(CONSENT)
    return Step(ISSUE)
