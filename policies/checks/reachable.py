"""Checks that the request can be met at all, before anyone is asked to sign in.

An essential ``acr`` that is unknown or above every allowed adapter ends in
``unmet_authentication_requirements`` (never a weaker token); a policy demanding a level none of
its adapters can reach is a configuration fault reported as ``access_denied``.
"""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Deny, Outcome
from policies.requirements import UNMET, essential_level, reachable_level, step_up_rules


def check_essential_acr(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    asked, level = essential_level(ctx)
    if not asked:
        return OK
    if level is None:
        return Deny(UNMET, "none of the essential acr values is supported", "essential_acr")
    reach = reachable_level(ctx)
    if reach is None or level > reach:
        return Deny(UNMET, f"no sign-in method allowed for this client reaches acr {level.token}",
                    "essential_acr")
    return OK


def check_policy_reachable(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    reach = reachable_level(ctx)
    needed = max([ctx.policy.minimum_acr, *(rule.acr for rule in step_up_rules(ctx))])
    if reach is None or needed > reach:
        return Deny("access_denied", f"this client's policy needs acr {needed.token}, which no "
                    "allowed sign-in method reaches", "policy_reachable")
    return OK
