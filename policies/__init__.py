"""Per-client policies and levels of assurance.

The OIDC core calls, at /authorize: ``evaluate(AuthorizationContext(...), SessionState(...))`` ->
Ok | Prompt | Deny, then ``release_claims`` and ``effective_authentication`` for the tokens; at
/token (refresh): ``refresh_denial`` and ``release_for_refresh``. Discovery:
``acr_values_supported(issuer)``. Start-up: ``PolicySet.from_folder_or_builtin(settings.policies_dir)``.
"""

from policies.context import (
    Authentication,
    AuthorizationContext,
    EffectiveAuthentication,
    SessionState,
    acr_request_from_claims,
    effective_acr,
    effective_authentication,
    requested_claim_names,
)
from policies.document import ClientPolicy, PolicyError, StepUpRule
from policies.engine import evaluate
from policies.loa import Level, acr_values_supported, highest_mapped_level, map_upstream_acr, parse_acr, satisfies
from policies.outcome import OK, Deny, Ok, Outcome, Prompt
from policies.policy_set import PolicySet
from policies.release import ClaimRelease, Dropped, release_claims
from policies.session import apply_consent, apply_login, apply_second_factor, apply_step_up
from policies.tokens import refresh_denial, release_for_refresh

__all__ = [
    "OK", "Authentication", "AuthorizationContext", "ClaimRelease", "ClientPolicy", "Deny", "Dropped",
    "EffectiveAuthentication", "Level", "Ok", "Outcome", "PolicyError", "PolicySet", "Prompt", "SessionState",
    "StepUpRule", "acr_request_from_claims", "acr_values_supported", "apply_consent", "apply_login",
    "apply_second_factor", "apply_step_up", "effective_acr", "effective_authentication", "evaluate",
    "highest_mapped_level", "map_upstream_acr", "parse_acr", "refresh_denial", "release_claims", "release_for_refresh",
    "requested_claim_names", "satisfies",
]
