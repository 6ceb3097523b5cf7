"""Pending authorization requests while the person signs in or consents (single use).

What the request needs next is decided by the policy engine (policies/); the interaction records
when it began (so a sign-in made during it satisfies ``prompt=login`` and ``max_age``), the prompt
being answered, and what the person consented to in it.

It belongs to one browser and, once someone is signed in, to one session: ``browser`` is the key of
the browser that started it (idp.web.binding), ``session_id`` the SSO session it continues. Every
step of the interaction refuses another browser or session (idp.oidc.flow); an
interaction without a ``browser`` is refused everywhere.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Any

from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.ephemeral import EphemeralStore
from idp.storage.ephemeral.base import shallow_record

KIND = "interaction"
TTL = 15 * 60

@dataclass(frozen=True)
class Interaction:
    """A pending authorization request and what the person did about it so far."""

    id: str
    request: AuthorizationRequest
    created_at: int = 0
    logged_in_at: int | None = None
    session_id: str | None = None
    browser: str | None = None
    prompt: dict[str, Any] | None = None
    consented_scopes: tuple[str, ...] | None = None
    consented_claims: tuple[str, ...] | None = None
    #: The choice on the organisation page (idp.oidc.flow.organisations): the organisation the
    #: person acts for, ``{}`` for themselves, None when not asked.
    acting_for: dict[str, Any] | None = None

    def to_record(self) -> dict[str, Any]:
        record = shallow_record(self)
        record["request"] = self.request.to_record()
        return record

    @classmethod
    def from_record(cls, interaction_id: str, record: dict[str, Any]) -> Interaction:
        values = {**record, "id": interaction_id, "request": AuthorizationRequest.from_record(record["request"])}
        for name in ("consented_scopes", "consented_claims"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    def replace(self, **changes: Any) -> Interaction:
        return dataclasses.replace(self, **changes)


class InteractionStore:
    def __init__(self, store: EphemeralStore) -> None:
        self.store = store

    @staticmethod
    def new(request: AuthorizationRequest) -> Interaction:
        """A new interaction, not stored yet and bound to nobody (``save`` stores it when a prompt
        needs it, bound to the browser and session then)."""
        return Interaction(id=secrets.token_urlsafe(24), request=request, created_at=int(time.time()))

    def create(self, request: AuthorizationRequest, *, browser: str, session_id: str | None = None,
               prompt: dict[str, Any] | None = None) -> Interaction:
        """A new interaction, stored, bound to ``browser`` (idp.web.binding.browser_key) and to the
        session ``session_id`` when someone is signed in."""
        interaction = self.new(request).replace(browser=browser, session_id=session_id, prompt=prompt)
        self.save(interaction)
        return interaction

    def get(self, interaction_id: str | None) -> Interaction | None:
        if not interaction_id or len(interaction_id) > 64:
            return None
        record = self.store.find(KIND, interaction_id)
        return Interaction.from_record(interaction_id, record) if record is not None else None

    def save(self, interaction: Interaction) -> None:
        self.store.upsert(KIND, interaction.id, interaction.to_record(), TTL)

    def finish(self, interaction_id: str) -> Interaction | None:
        """Consume the interaction (single use: a finished request cannot be replayed)."""
        record = self.store.consume(KIND, interaction_id)
        return Interaction.from_record(interaction_id, record) if record is not None else None
