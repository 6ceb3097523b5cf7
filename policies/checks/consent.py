"""Consent to what will be released. Restricted scopes (vn_id, vn_eid, vn_org, vn_official,
vn_cert) always need the person's consent, first-party (trusted) clients included; standard scopes
need it unless the client is trusted. ``prompt=consent`` asks again even when consent exists."""

from __future__ import annotations

from policies.claims import CLAIM_SCOPE, CONSENT, is_restricted, legal_basis
from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import release


def consent_needed(ctx: AuthorizationContext) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(scopes, individually requested claims) this request needs the person's consent for."""
    granted = release(ctx)
    scopes = tuple(s for s in granted.scopes if s != "openid" and legal_basis(s, ctx.trusted_client) == CONSENT)
    claims = tuple(sorted(c for c in granted.individual_claims
                          if is_restricted(CLAIM_SCOPE[c]) or not ctx.trusted_client))
    return scopes, claims


def check_consent(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    scopes, claims = consent_needed(ctx)
    if "consent" in ctx.prompt and (session.consented_at is None or session.consented_at < ctx.interaction_start):
        everything = tuple(s for s in release(ctx).scopes if s != "openid")
        return Prompt("consent", "consent_requested", "consent", scopes=everything or scopes, claims=claims)
    missing_scopes = tuple(s for s in scopes if s not in session.consented_scopes)
    missing_claims = tuple(c for c in claims
                           if c not in session.consented_claims and CLAIM_SCOPE[c] not in session.consented_scopes)
    if missing_scopes or missing_claims:
        return Prompt("consent", "consent_required", "consent", scopes=missing_scopes, claims=missing_claims)
    return OK
