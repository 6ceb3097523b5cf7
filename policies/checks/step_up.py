"""Step-up rules of the policy: a released scope that needs a sign-in at ``acr`` or higher made
at most ``within_seconds`` ago (for example ``tax:submit`` needs ``pki-hw`` within 300 s)."""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.loa import Level
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import adapters_reaching, step_up_rules


def latest_authentication_at(ctx: AuthorizationContext, session: SessionState, level: Level) -> int | None:
    """When the session last authenticated at ``level`` or higher (a step-up only within its
    window and by an allowed adapter)."""
    times = []
    if session.login is not None and session.login.level >= level:
        times.append(session.login.at)
    step = session.step_up
    if (step is not None and session.step_up_active(ctx.now) and step.level >= level
            and step.adapter_id in ctx.policy.adapters):
        times.append(step.at)
    return max(times) if times else None


def check_step_up_rules(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    if not session.authenticated:
        return OK
    for rule in sorted(step_up_rules(ctx), key=lambda r: r.acr, reverse=True):
        at = latest_authentication_at(ctx, session, rule.acr)
        if at is None or ctx.now - at > rule.within_seconds:
            return Prompt("step_up", "step_up_for_scope", "step_up_rules", required_acr=rule.acr,
                          adapters=adapters_reaching(ctx, rule.acr), scopes=(rule.scope,))
    return OK
