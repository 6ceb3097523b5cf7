"""``idp policies explain``: what a sign-in for a client will require and what it will receive.

Runs the same engine and release code as /authorize on a session that has not signed in, so the
explanation cannot drift from the behaviour. Without an explicit request it asks for every
standard and restricted scope (and the policy's own scopes), so every drop is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policies.claims import RESTRICTED_SCOPE_REVEALS_VI, RESTRICTED_SCOPES, SCOPE_CLAIMS, STANDARD_SCOPES
from policies.context import AuthorizationContext, SessionState
from policies.engine import evaluate
from policies.loa import Level
from policies.outcome import Deny, Prompt
from policies.policy_set import PolicySet
from policies.release import release_claims
from policies.requirements import required_level


def _level(level: Level, issuer: str) -> dict[str, str]:
    return {"acr": level.token, "uri": level.uri(issuer), "label_vi": level.label_vi}


def explain(policies: PolicySet, client_id: str, issuer: str, *, scopes: Iterable[str] | None = None,
            requested_claims: Iterable[str] = (), acr_values: Iterable[str] = (), now: int = 0) -> dict[str, Any]:
    """A JSON-ready explanation of the client's policy applied to one request."""
    policy = policies.for_client(client_id)
    if scopes is None:
        scopes = dict.fromkeys([*STANDARD_SCOPES, *RESTRICTED_SCOPES, *policy.scopes])
    ctx = AuthorizationContext(policy=policy, issuer=issuer, now=now, client_id=client_id,
                               scopes=tuple(scopes), acr_values=tuple(acr_values),
                               requested_claims=frozenset(requested_claims))
    outcome = evaluate(ctx, SessionState())
    granted = release_claims(policy, ctx.scopes, ctx.requested_claims)
    body: dict[str, Any] = {
        "client_id": client_id,
        "policy_file": policy.source,
        "own_policy": policies.has_own_policy(client_id),
        "digest": policy.digest,
        "description": policy.description,
        "request": {"scope": " ".join(ctx.scopes), "acr_values": list(ctx.acr_values),
                    "claims": sorted(ctx.requested_claims)},
        "sign_in": {
            "adapters": list(policy.adapters),
            "minimum_acr": _level(policy.minimum_acr, issuer),
            "required_acr": _level(required_level(ctx), issuer),
            "mfa_required": policy.mfa_required,
            "mfa_required_roles": list(policy.mfa_required_roles),
            "max_age": policy.max_age,
            "session_lifetime_seconds": policy.session_lifetime_seconds,
            "step_up": [{"scope": r.scope, "within_seconds": r.within_seconds, **_level(r.acr, issuer)}
                        for r in policy.step_up],
            "step_up_window_seconds": policy.step_up_window_seconds,
        },
        "subject_type": policy.subject_type,
        "released": {
            "scopes": list(granted.scopes),
            "claims": sorted(granted.claims),
            "restricted": [{"scope": s, "claims": sorted(SCOPE_CLAIMS[s]), "reveals_vi": RESTRICTED_SCOPE_REVEALS_VI[s]}
                           for s in granted.restricted_scopes],
        },
        "dropped": [{"kind": d.kind, "name": d.name, "reason": d.reason,
                     "claims": sorted(SCOPE_CLAIMS.get(d.name, ())) if d.kind == "scope" else []}
                    for d in granted.dropped],
    }
    if isinstance(outcome, Deny):
        body["outcome"] = {"result": "denied", "error": outcome.error, "reason": outcome.reason}
    elif isinstance(outcome, Prompt):
        body["outcome"] = {"result": "sign_in", "adapters": list(outcome.adapters)}
    return body


def format_explanation(body: dict[str, Any]) -> str:
    """The explanation as text for a terminal."""
    sign_in = body["sign_in"]
    lines = [f"Client {body['client_id']}: policy {body['policy_file']}"
             + ("" if body["own_policy"] else " (default: no policy of its own)")]
    if body["description"]:
        lines.append(f"  {body['description']}")
    lines.append(f"Request: scope={body['request']['scope']!r}")
    outcome = body["outcome"]
    if outcome["result"] == "denied":
        lines.append(f"DENIED: {outcome['error']}: {outcome['reason']}")
    else:
        required = sign_in["required_acr"]
        lines.append(f"Sign-in with: {', '.join(outcome['adapters'])}")
        lines.append(f"  at acr {required['acr']} or higher ({required['label_vi']}); {required['uri']}")
    roles = sign_in.get("mfa_required_roles") or []
    lines.append(f"  minimum acr {sign_in['minimum_acr']['acr']}; MFA "
                 + ("required" if sign_in["mfa_required"]
                    else f"required for roles {', '.join(roles)}" if roles else "not required")
                 + (f"; max_age {sign_in['max_age']} s" if sign_in["max_age"] is not None else "")
                 + (f"; session reused at most {sign_in['session_lifetime_seconds']} s"
                    if sign_in["session_lifetime_seconds"] else ""))
    for rule in sign_in["step_up"]:
        lines.append(f"  step-up: scope {rule['scope']} needs acr {rule['acr']} within "
                     f"{rule['within_seconds']} s (raised level lasts {sign_in['step_up_window_seconds']} s)")
    lines.append(f"Subject identifier: {body['subject_type']}")
    lines.append(f"Released scopes: {' '.join(body['released']['scopes'])}")
    lines.append(f"Released claims: {', '.join(body['released']['claims']) or '(none)'}")
    for item in body["released"]["restricted"]:
        lines.append(f"  restricted {item['scope']} (needs consent): {item['reveals_vi']}")
    if body["dropped"]:
        lines.append("Dropped:")
        for drop in body["dropped"]:
            claims = f" (claims {', '.join(drop['claims'])})" if drop["claims"] else ""
            lines.append(f"  {drop['kind']} {drop['name']}: {drop['reason']}{claims}")
    else:
        lines.append("Dropped: nothing")
    return "\n".join(lines)
