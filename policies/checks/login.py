"""Checks that the person has signed in, recently enough (OIDC Core §3.1.2.1 ``prompt=login``,
``prompt=select_account``, ``max_age``; the policy's ``max_age`` is a ceiling on the request's,
``session_lifetime_seconds`` bounds how long one login is reused for this client).

A sign-in made after the authorization request began (``request_time``) always satisfies
``prompt=login``, ``prompt=select_account`` and ``max_age``: otherwise ``max_age=0`` would ask
forever.
"""

from __future__ import annotations

from policies.context import AuthorizationContext, SessionState
from policies.outcome import OK, Outcome, Prompt
from policies.requirements import adapters_reaching, current, required_level


def _login_prompt(ctx: AuthorizationContext, reason_id: str, check: str) -> Prompt:
    level = required_level(ctx)
    return Prompt("login", reason_id, check, required_acr=level, adapters=adapters_reaching(ctx, level))


def check_signed_in(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    if not session.authenticated:
        return _login_prompt(ctx, "login_required", "signed_in")
    return OK


def check_prompt_login(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    """``prompt=login``: sign in again, once per request. ``prompt=select_account``: a browser
    holds one signed-in person, so choosing an account is signing in with it (the sign-in page,
    once per request), never a silent answer with the account already signed in. Neither asks
    again after a sign-in made during this request."""
    auth = current(ctx, session)
    if auth is None or auth.auth_time >= ctx.interaction_start:
        return OK
    if "login" in ctx.prompt:
        return _login_prompt(ctx, "reauthentication_requested", "prompt_login")
    if "select_account" in ctx.prompt:
        return _login_prompt(ctx, "account_selection_requested", "prompt_login")
    return OK


def effective_max_age(ctx: AuthorizationContext) -> int | None:
    limits = [v for v in (ctx.max_age, ctx.policy.max_age) if v is not None]
    return min(limits) if limits else None


def check_max_age(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    auth = current(ctx, session)
    max_age = effective_max_age(ctx)
    if (auth is None or max_age is None or auth.auth_time >= ctx.interaction_start
            or ctx.now - auth.auth_time <= max_age):
        return OK
    return _login_prompt(ctx, "max_age_exceeded", "max_age")


def check_session_lifetime(ctx: AuthorizationContext, session: SessionState) -> Outcome:
    lifetime = ctx.policy.session_lifetime_seconds
    login = session.login
    if login is None or lifetime is None or login.at >= ctx.interaction_start or ctx.now - login.at <= lifetime:
        return OK
    return _login_prompt(ctx, "session_too_old", "session_lifetime")
