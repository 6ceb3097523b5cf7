"""Claim release: which scopes and claims a client receives, and what is dropped and why.

OIDC Core §5.4 (scopes), §5.5 (``claims`` parameter): a claim asked for individually is released
only when the policy allows the scope that governs it, so a client whose policy does not approve
``vn_id`` never receives ``vn_personal_id``, whatever its ``scope`` or ``claims`` say. Dropping is
silent towards the client (OAuth lets the server grant less; the token response's ``scope`` shows
it) and visible to operators through ``dropped`` and ``idp policies explain``.

:meth:`ClaimRelease.filter` is the enforcement point: token and userinfo code passes the person's
claims through it and sends only what comes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from policies.claims import CLAIM_SCOPE, PROTOCOL_CLAIMS, SCOPE_CLAIMS, is_restricted
from policies.document import ClientPolicy


@dataclass(frozen=True)
class Dropped:
    """A scope or claim the client asked for and will not get. ``reason``:
    ``restricted_scope_not_approved``, ``scope_not_allowed``, ``withheld_by_policy``, ``unknown_claim``."""

    kind: str
    name: str
    reason: str


class ClaimRelease(NamedTuple):
    """``scopes``: released scopes in request order; ``claims``: user claim names that may be sent;
    ``dropped``; ``individual_claims``: released claims asked for through the ``claims`` parameter
    whose scope was not requested (they need consent one by one)."""

    scopes: tuple[str, ...]
    claims: frozenset[str]
    dropped: tuple[Dropped, ...]
    individual_claims: frozenset[str] = frozenset()

    def filter(self, person_claims: Mapping[str, Any]) -> dict[str, Any]:
        """Only the released claims of ``person_claims`` (protocol claims are not the person's and
        are added by the token code itself)."""
        return {name: value for name, value in person_claims.items() if name in self.claims}

    @property
    def restricted_scopes(self) -> tuple[str, ...]:
        """Restricted scopes whose claims are released (by scope or individually)."""
        governing = set(self.scopes) | {CLAIM_SCOPE[c] for c in self.individual_claims}
        return tuple(s for s in SCOPE_CLAIMS if s in governing and is_restricted(s))


def _refusal(scope: str) -> str:
    return "restricted_scope_not_approved" if is_restricted(scope) else "scope_not_allowed"


def release_claims(policy: ClientPolicy, scopes: Iterable[str],
                   requested_claims: Iterable[str] = ()) -> ClaimRelease:
    """Apply the client's policy to the requested scopes and ``claims``-parameter names."""
    allowed = policy.allowed_scopes
    withheld = frozenset(policy.withheld_claims)
    dropped: list[Dropped] = []
    released_scopes: list[str] = []
    for scope in dict.fromkeys(scopes):
        if scope in allowed:
            released_scopes.append(scope)
        else:
            dropped.append(Dropped("scope", scope, _refusal(scope)))
    claims: set[str] = set()
    for scope in released_scopes:
        claims |= SCOPE_CLAIMS.get(scope, frozenset())
    individual: set[str] = set()
    for name in sorted(set(requested_claims)):
        if name in PROTOCOL_CLAIMS or name in claims:
            continue
        governing = CLAIM_SCOPE.get(name)
        if governing is None:
            dropped.append(Dropped("claim", name, "unknown_claim"))
        elif governing not in allowed:
            dropped.append(Dropped("claim", name, _refusal(governing)))
        else:
            claims.add(name)
            individual.add(name)
    for name in sorted(claims & withheld):
        dropped.append(Dropped("claim", name, "withheld_by_policy"))
    return ClaimRelease(tuple(released_scopes), frozenset(claims - withheld), tuple(dropped),
                        frozenset(individual - withheld))
