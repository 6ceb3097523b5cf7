"""Checks on how the person may sign in: some adapter must be allowed, and the session's own."""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Deny, Outcome, Prompt
from policies.requirements import adapters_reaching, required_level


def check_adapters_available(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    """Deny when the policy allows no adapter (deny by default) or none of them is configured."""
    if not ctx.policy.adapters:
        return Deny("access_denied", "no sign-in method is allowed for this client", "adapters_available")
    if ctx.adapter_max_acr is not None and not any(a in ctx.adapter_max_acr for a in ctx.policy.adapters):
        return Deny("access_denied", "no sign-in method allowed for this client is available",
                    "adapters_available")
    return OK


def check_session_adapter(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    """A session opened with an adapter this client does not allow: sign in again with one it does."""
    if session.login is not None and session.login.adapter_id not in ctx.policy.adapters:
        level = required_level(ctx)
        return Prompt("login", "adapter_not_allowed", "session_adapter", required_acr=level,
                      adapters=adapters_reaching(ctx, level))
    return OK
