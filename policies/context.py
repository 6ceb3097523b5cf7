"""The engine's inputs: the authorization request as the policy sees it and the session's state.

Both are frozen and carry plain values (seconds since the epoch, level enums), so the engine is
pure: same inputs, same outcome, no clock and no I/O inside.

Time-boxed step-up: a session has the ``login`` that opened it and at most one ``step_up``, a
later, stronger authentication that counts only until ``step_up_expires_at``. While it counts the
session's level is the higher of the two, its ``amr`` both lists, its ``auth_time`` the step-up's;
afterwards everything falls back to the login. :func:`effective_authentication` is therefore
also what the ID token's ``acr``, ``amr`` and ``auth_time`` must say.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.amr import merge_amr
from policies.document import ClientPolicy
from policies.loa import Level


@dataclass(frozen=True)
class Authentication:
    """One active authentication: the level reached, methods (RFC 8176), adapter, time, and the
    roles the source reported for the person at it (a directory's groups mapped to roles, a local
    account's roles)."""

    level: Level
    amr: tuple[str, ...]
    adapter_id: str
    at: int
    roles: tuple[str, ...] = ()
    #: An organisation e-ID account signed in (an organisation, not a person).
    organisation: bool = False


@dataclass(frozen=True)
class SessionState:
    """What the SSO session knows about the person's sign-in and consents (for one client)."""

    login: Authentication | None = None
    step_up: Authentication | None = None
    step_up_expires_at: int | None = None
    consented_scopes: frozenset[str] = frozenset()
    consented_claims: frozenset[str] = frozenset()
    consented_at: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.login is not None

    def step_up_active(self, now: int) -> bool:
        return (self.step_up is not None and self.step_up_expires_at is not None
                and now < self.step_up_expires_at)


@dataclass(frozen=True)
class EffectiveAuthentication:
    """What the session's sign-in amounts to now: the ID token's ``acr``, ``amr``, ``auth_time``."""

    level: Level
    amr: tuple[str, ...]
    auth_time: int
    adapter_id: str

    def acr_uri(self, issuer: str) -> str:
        return self.level.uri(issuer)


def effective_authentication(session: SessionState, now: int, *,
                             allowed_adapters: Collection[str] | None = None) -> EffectiveAuthentication | None:
    """The session's sign-in now (None when not signed in). A step-up counts only within its
    window and, when ``allowed_adapters`` is given, only if made with one of them."""
    login = session.login
    if login is None:
        return None
    step = session.step_up
    if (step is None or not session.step_up_active(now)
            or (allowed_adapters is not None and step.adapter_id not in allowed_adapters)):
        return EffectiveAuthentication(login.level, login.amr, login.at, login.adapter_id)
    level = max(login.level, step.level)
    return EffectiveAuthentication(level, merge_amr(login.amr, step.amr), max(login.at, step.at),
                                   step.adapter_id if step.level >= login.level else login.adapter_id)


def effective_acr(session: SessionState, now: int) -> Level | None:
    """The session's level now: raised by an unexpired step-up, else the login's."""
    current = effective_authentication(session, now)
    return current.level if current else None


@dataclass(frozen=True)
class AuthorizationContext:
    """An authorization request as the policy engine sees it.

    ``acr_values``: the request's values as sent (URIs or LoA aliases); ``essential_acr``: the
    values of an essential ``acr`` in the ``claims`` parameter (see :func:`acr_request_from_claims`);
    ``requested_claims``: every claim name the ``claims`` parameter asks for (id_token and
    userinfo); ``prompt``: the prompt values; ``request_time``: when this authorization request
    began (its interaction's start), so a sign-in made during the interaction satisfies
    ``prompt=login``/``max_age``; ``adapter_max_acr``: the highest level each configured adapter
    can produce (None: unknown, every allowed adapter is offered); ``trusted_client``: a
    first-party client (no consent page for standard scopes; restricted scopes still need it).
    """

    policy: ClientPolicy
    issuer: str
    now: int
    client_id: str = ""
    scopes: tuple[str, ...] = ()
    acr_values: tuple[str, ...] = ()
    essential_acr: tuple[str, ...] = ()
    requested_claims: frozenset[str] = frozenset()
    max_age: int | None = None
    prompt: frozenset[str] = frozenset()
    request_time: int | None = None
    trusted_client: bool = False
    adapter_max_acr: Mapping[str, Level] | None = field(default=None)

    @property
    def interaction_start(self) -> int:
        return self.now if self.request_time is None else self.request_time


def acr_request_from_claims(claims_parameter: Mapping[str, Any] | None) -> tuple[tuple[str, ...], bool]:
    """The acr values named in an OIDC ``claims`` parameter (§5.5.1.1: ``id_token.acr`` with
    ``value`` or ``values``) and whether they are essential. ``({}, False)`` when absent."""
    if not claims_parameter:
        return (), False
    id_token = claims_parameter.get("id_token")
    request = id_token.get("acr") if isinstance(id_token, Mapping) else None
    if not isinstance(request, Mapping):
        return (), False
    values: list[str] = []
    if isinstance(request.get("value"), str):
        values.append(request["value"])
    if isinstance(request.get("values"), list):
        values.extend(v for v in request["values"] if isinstance(v, str))
    return tuple(values), request.get("essential") is True


def requested_claim_names(claims_parameter: Mapping[str, Any] | None) -> frozenset[str]:
    """Every claim name a ``claims`` parameter asks for, in the ID token or at userinfo."""
    if not claims_parameter:
        return frozenset()
    names: set[str] = set()
    for target in ("id_token", "userinfo"):
        part = claims_parameter.get(target)
        if isinstance(part, Mapping):
            names.update(str(name) for name in part)
    return frozenset(names)
