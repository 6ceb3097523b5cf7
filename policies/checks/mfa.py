"""The policy's ``mfa_required`` (for everyone) and ``mfa_required_roles`` (for a person holding one
of those roles at their sign-in): the sign-in's methods (RFC 8176 ``amr``) show two factors, or its
level needs two by definition (see ``Level.implies_multi_factor``)."""

from __future__ import annotations

from policies.amr import is_multi_factor
from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import current


def check_mfa(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    auth = current(ctx, session)
    roles = set(session.login.roles) if session.login is not None else set()
    if auth is None or not (ctx.policy.mfa_required or roles & set(ctx.policy.mfa_required_roles)):
        return OK
    if is_multi_factor(auth.amr) or auth.level.implies_multi_factor:
        return OK
    return Prompt("mfa", "mfa_required", "mfa")
