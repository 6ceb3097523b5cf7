"""Evaluating an authorization request against the client's policy: an ordered list of small
checks (``policies/checks/``), the first answer that is not Ok wins.

Called by the OIDC core at /authorize (before issuing a code, and again after every satisfied
prompt) with a fresh ``AuthorizationContext`` and the session's ``SessionState``. Pure: no clock,
no I/O; ``ctx.now`` is the caller's time.

``prompt=none`` (OIDC Core §3.1.2.1): any prompt becomes an error to the client instead
(§3.1.2.6: ``login_required``, ``consent_required``, ``interaction_required``), except a
session below the level the request needs (a ``step_up`` prompt): that is
``unmet_authentication_requirements`` (OpenID Connect Core Error Code 1.0), saying the level the
sign-in reached and the one needed (short tokens, no personal data).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.checks import CHECKS, Check
from policies.context import AuthorizationContext, SessionState
from policies.loa import Level
from policies.outcome import OK, Deny, Outcome, Prompt
from policies.requirements import UNMET, current

NO_INTERACTION_ERRORS = {
    "login": "login_required",
    "step_up": "login_required",
    "mfa": "interaction_required",
    "consent": "consent_required",
}


def evaluate(ctx: AuthorizationContext, session: SessionState, checks: Iterable[Check] = CHECKS) -> Outcome:
    """Run the checks in order; Ok only when every check passed."""
    for check in checks:
        outcome = check(ctx, session)
        if isinstance(outcome, Prompt) and "none" in ctx.prompt:
            if outcome.kind == "step_up" and outcome.required_acr is not None:
                return Deny(UNMET, _below(ctx, session, outcome.required_acr), outcome.check)
            return Deny(NO_INTERACTION_ERRORS[outcome.kind], f"prompt=none but {outcome.reason_id}",
                        outcome.check)
        if outcome != OK:
            return outcome
    return OK


def _below(ctx: AuthorizationContext, session: SessionState, needed: Level) -> str:
    auth = current(ctx, session)
    reached = auth.level.token if auth is not None else "none"
    return f"prompt=none and the sign-in reached acr {reached}, below the {needed.token} this request needs"
