"""Policy at the token endpoint: a refresh (RFC 6749 §6) is re-checked against the policy as it
is now, so a tightened policy takes effect without waiting for refresh tokens to expire, and a
step-up scope is never refreshed past its rule's window (the time box holds for tokens too).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.claims import CLAIM_SCOPE
from policies.document import ClientPolicy
from policies.loa import Level
from policies.outcome import Deny
from policies.release import ClaimRelease, Dropped, release_claims


def refresh_denial(policy: ClientPolicy, *, acr: Level | None) -> Deny | None:
    """A reason to refuse the refresh outright (``invalid_grant``), or None."""
    if not policy.adapters:
        return Deny("invalid_grant", "the client's policy no longer allows any sign-in", "refresh")
    if acr is None or acr < policy.minimum_acr:
        return Deny("invalid_grant", "the sign-in behind this grant is below the client's policy", "refresh")
    return None


def release_for_refresh(policy: ClientPolicy, scopes: Iterable[str], requested_claims: Iterable[str] = (),
                        *, acr: Level | None, auth_time: int | None, now: int) -> ClaimRelease:
    """What a refreshed token may carry: the current policy's release, minus scopes whose step-up
    rule the grant's sign-in (``acr`` at ``auth_time``) no longer meets."""
    requested = tuple(requested_claims)
    granted = release_claims(policy, scopes, requested)
    rules = {rule.scope: rule for rule in policy.step_up}
    expired = {
        scope for scope in granted.scopes
        if scope in rules and not (acr is not None and auth_time is not None and acr >= rules[scope].acr
                                   and now - auth_time <= rules[scope].within_seconds)
    }
    if not expired:
        return granted
    kept = [scope for scope in granted.scopes if scope not in expired]
    claims = [name for name in requested if CLAIM_SCOPE.get(name) not in expired]
    narrowed = release_claims(policy, kept, claims)
    dropped = narrowed.dropped + tuple(Dropped("scope", scope, "step_up_expired") for scope in sorted(expired))
    return narrowed._replace(dropped=dropped)
