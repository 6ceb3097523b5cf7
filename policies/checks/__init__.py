"""The ordered checks of an authorization request (the model: node-oidc-provider's interaction
policy). Each takes ``(AuthorizationContext, SessionState)`` and answers Ok, Prompt or Deny; the
engine stops at the first that is not Ok. Order matters: refusals that no interaction can cure
come first, then sign-in, freshness, level, second factor, and consent last.
"""

from __future__ import annotations

from collections.abc import Callable

from policies.checks.adapters import check_adapters_available, check_session_adapter
from policies.checks.assurance import check_minimum_acr, check_requested_acr
from policies.checks.consent import check_consent
from policies.checks.login import check_max_age, check_prompt_login, check_session_lifetime, check_signed_in
from policies.checks.mfa import check_mfa
from policies.checks.organisations import check_organisation
from policies.checks.reachable import check_essential_acr, check_policy_reachable
from policies.checks.step_up import check_step_up_rules
from policies.context import AuthorizationContext, SessionState
from policies.outcome import Outcome

Check = Callable[[AuthorizationContext, SessionState], Outcome]

CHECKS: tuple[Check, ...] = (
    check_adapters_available,
    check_policy_reachable,
    check_essential_acr,
    check_signed_in,
    check_session_adapter,
    check_organisation,
    check_prompt_login,
    check_max_age,
    check_session_lifetime,
    check_minimum_acr,
    check_requested_acr,
    check_step_up_rules,
    check_mfa,
    check_consent,
)

__all__ = ["CHECKS", "Check"]
