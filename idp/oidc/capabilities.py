"""What the provider can actually produce, from what its configured adapters declare.

Each adapter's configuration says what sign-ins through it yield (``AdapterConfig.produces``:
levels and claims; an adapter type that says nothing yields the lowest level and no claims).
Discovery lists only that: ``acr_values_supported`` the levels some adapter reaches,
``claims_supported`` the protocol claims and the user claims some adapter yields (``vn_eid_level``
where a national profile reaches an e-ID level), ``scopes_supported`` the scopes that release
something (``openid`` and ``offline_access`` always). A new kind of sign-in (a certificate, a chip
read) appears in discovery by declaring what it produces, nothing else.

:func:`adapter_reach` is the same declaration read by the policy engine
(``AuthorizationContext.adapter_max_acr``): an adapter is never offered for a level above its
highest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from adapters.adapter_set import AdapterEntry
from policies.claims import KNOWN_CLAIMS, SCOPE_CLAIMS, STANDARD_SCOPES
from policies.loa import Level, level_from_token

#: Claims every ID token may carry about the sign-in itself.
PROTOCOL_CLAIMS = frozenset({"sub", "iss", "auth_time", "acr", "amr", "sid"})
#: Scopes that need no produced claim: the sign-in itself, and refresh tokens.
ALWAYS_SCOPES = ("openid", "offline_access")


@dataclass(frozen=True)
class Capabilities:
    """The levels, user claims and scopes the configured adapters can produce."""

    levels: tuple[Level, ...]
    claims: frozenset[str]
    scopes: tuple[str, ...]

    def acr_values(self, issuer: str) -> list[str]:
        """``acr_values_supported``: the URIs of the levels, lowest first."""
        return [level.uri(issuer) for level in self.levels]

    def claims_supported(self) -> list[str]:
        return sorted(PROTOCOL_CLAIMS | self.claims)


def capabilities(entries: Iterable[AdapterEntry], scope_order: Iterable[str]) -> Capabilities:
    """What ``entries`` produce; ``scope_order``: the provider's scopes, in the order to list them
    (a scope is listed when it releases a produced claim, or is one of :data:`ALWAYS_SCOPES`)."""
    levels: set[Level] = set()
    claims: set[str] = set()
    for entry in entries:
        levels.update(level_from_token(token) for token in entry.produces.levels)
        claims.update(entry.produces.claims)
    released = frozenset(claims) & KNOWN_CLAIMS
    scopes = tuple(s for s in scope_order if s in ALWAYS_SCOPES or SCOPE_CLAIMS.get(s, frozenset()) & released)
    return Capabilities(tuple(sorted(levels)), released, scopes)


def adapter_reach(entries: Iterable[AdapterEntry]) -> Mapping[str, Level]:
    """The highest level each adapter can reach (``AuthorizationContext.adapter_max_acr``)."""
    return {entry.id: level_from_token(entry.produces.max_level) for entry in entries}


__all__ = ["ALWAYS_SCOPES", "PROTOCOL_CLAIMS", "STANDARD_SCOPES", "Capabilities", "adapter_reach", "capabilities"]
