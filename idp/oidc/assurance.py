"""The bridge between SSO sessions and the policy engine (policies/).

The session keeps the engine's view of the sign-in (login and time-boxed step-up, as JSON);
consents come from the durable store (remembered per person, client and scope set) plus what the
person allowed during the current interaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from adapters.base import Identity
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from idp.storage.models import Client, Consent
from policies import (
    AuthorizationContext,
    ClientPolicy,
    Level,
    SessionState,
    acr_request_from_claims,
    apply_login,
    apply_step_up,
    effective_authentication,
    requested_claim_names,
)
from policies.claims import ORGANISATION
from policies.loa import LOWEST, level_from_token
from policies.session import session_from_json, session_to_json


def level_of(identity: Identity) -> Level:
    """The local level a sign-in reached: the adapter's mapped acr, raised to local-mfa by a
    second factor on a local-basic sign-in; the lowest level when the adapter says nothing."""
    level = LOWEST
    if identity.acr:
        try:
            level = level_from_token(identity.acr)
        except ValueError:
            level = LOWEST
    if level == Level.LOCAL_BASIC and "mfa" in identity.amr:
        level = Level.LOCAL_MFA
    return level


def state_of(session: SsoSession | None, consent: Consent | None, interaction: Interaction | None) -> SessionState:
    """The engine's view of a pending request: the session's sign-in, the remembered consent and
    what the person allowed during this interaction.

    A consent given in this interaction (``consented_scopes`` set, even to nothing) is dated at
    :func:`request_start`: it was given during this authorization request, which is what
    ``prompt=consent`` asks for (checked against ``AuthorizationContext.interaction_start``). A
    remembered consent has no date here, so ``prompt=consent`` shows the page once per request,
    and only once.
    """
    state = session_from_json(session.policy) if session is not None and session.policy else SessionState()
    scopes: set[str] = set(consent.scopes) if consent else set()
    claims: set[str] = set(consent.claims) if consent else set()
    consented_at: int | None = None
    if interaction is not None and interaction.consented_scopes is not None:
        scopes |= set(interaction.consented_scopes)
        claims |= set(interaction.consented_claims or ())
        consented_at = request_start(interaction)
    return SessionState(login=state.login, step_up=state.step_up, step_up_expires_at=state.step_up_expires_at,
                        consented_scopes=frozenset(scopes), consented_claims=frozenset(claims),
                        consented_at=consented_at)


def authentication_json(state: SessionState) -> dict[str, Any]:
    """The part of the engine's state a session keeps (consents live elsewhere)."""
    data = session_to_json(SessionState(login=state.login, step_up=state.step_up,
                                        step_up_expires_at=state.step_up_expires_at))
    return dict(data)


def after_sign_in(previous: SsoSession | None, identity: Identity, subject_id: str, *, kind: str,
                  window_seconds: int) -> SessionState:
    """The engine's state after a sign-in that answered a ``login`` or ``step_up`` prompt."""
    now = int(time.time())
    level = level_of(identity)
    if kind == "step_up" and previous is not None and previous.subject_id == subject_id and previous.policy:
        return apply_step_up(session_from_json(previous.policy), level=level, amr=identity.amr,
                             adapter_id=identity.adapter_id, now=now, window_seconds=window_seconds)
    return apply_login(SessionState(), level=level, amr=identity.amr, adapter_id=identity.adapter_id, now=now,
                       roles=identity.roles, organisation=identity.claims.get("vn_account_type") == ORGANISATION)


def request_start(interaction: Interaction) -> int:
    """When the policy engine takes this authorization request to have begun (its
    ``request_time``): a sign-in or consent at or after it was made during the request.

    Times are whole seconds, so a sign-in made for an earlier request in the very second this one
    began would pass for one made during it, and ``prompt=login``, ``prompt=select_account`` or
    ``max_age`` would be answered without asking. The interaction knows better: without a sign-in
    in it (``logged_in_at`` unset) the request begins one second after its interaction was created,
    so every earlier sign-in is before it; after one, at its creation, so that sign-in counts.
    """
    return interaction.created_at if interaction.logged_in_at is not None else interaction.created_at + 1


def context_for(policy: ClientPolicy, issuer: str, client: Client, interaction: Interaction,
                now: int, *, adapter_max_acr: Mapping[str, Level] | None = None) -> AuthorizationContext:
    """The engine's view of the interaction's request; ``adapter_max_acr``: the highest level each
    configured adapter reaches (None: unknown, every allowed adapter is offered)."""
    request = interaction.request
    acr_claims, essential = acr_request_from_claims(request.claims)
    return AuthorizationContext(
        policy=policy, issuer=issuer, now=now, client_id=client.client_id, scopes=request.scopes,
        acr_values=request.acr_values + (() if essential else acr_claims),
        essential_acr=acr_claims if essential else (),
        requested_claims=requested_claim_names(request.claims), max_age=request.max_age,
        prompt=frozenset(request.prompt), request_time=request_start(interaction), trusted_client=client.trusted,
        adapter_max_acr=adapter_max_acr,
    )


def effective(state: SessionState, policy: ClientPolicy, now: int) -> Any:
    return effective_authentication(state, now, allowed_adapters=policy.adapters)
