"""Organisations: a session signed in with an organisation e-ID account reaches only a service
whose policy accepts organisations (``organisations: true``); elsewhere the person is asked to
sign in as themselves (deny by default: a service made for citizens never sees an organisation)."""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import adapters_reaching, required_level


def check_organisation(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    if session.login is not None and session.login.organisation and not ctx.policy.organisations:
        level = required_level(ctx)
        return Prompt("login", "organisation_not_accepted", "organisation", required_acr=level,
                      adapters=adapters_reaching(ctx, level))
    return OK
