"""Checks of the session's level against the policy minimum and the client's ``acr_values`` /
essential ``acr`` ("X or higher"). Too low -> a time-boxed step-up with adapters that reach it."""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.loa import Level
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import adapters_reaching, current, requested_level


def _step_up(ctx: AuthorizationContext, level: Level, reason_id: str, check: str) -> Prompt:
    return Prompt("step_up", reason_id, check, required_acr=level, adapters=adapters_reaching(ctx, level))


def check_minimum_acr(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    auth = current(ctx, session)
    if auth is not None and auth.level < ctx.policy.minimum_acr:
        return _step_up(ctx, ctx.policy.minimum_acr, "acr_below_policy", "minimum_acr")
    return OK


def check_requested_acr(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    auth = current(ctx, session)
    wanted = requested_level(ctx)
    if auth is not None and wanted is not None and auth.level < wanted:
        return _step_up(ctx, wanted, "acr_requested", "requested_acr")
    return OK
