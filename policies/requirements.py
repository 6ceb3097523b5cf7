"""What a request requires, derived from the context (shared by the checks; pure).

- ``acr_values`` are voluntary (OIDC Core §3.1.2.1) but honoured here: the lowest recognised value
  is the level asked for ("X or higher"); unrecognised values are ignored; a voluntary level no
  allowed adapter can reach is dropped and the token says honestly what was reached.
- An essential ``acr`` (OIDC Core §5.5.1.1) must be met or the request fails
  (``unmet_authentication_requirements``, OpenID Connect Core Error Code 1.0).
- Step-up rules apply to scopes that are actually released.
"""

from __future__ import annotations

from policies.context import AuthorizationContext, EffectiveAuthentication, SessionState, effective_authentication
from policies.document import StepUpRule
from policies.loa import Level, parse_acr_values
from policies.release import ClaimRelease, release_claims

UNMET = "unmet_authentication_requirements"


def current(ctx: AuthorizationContext, session: SessionState) -> EffectiveAuthentication | None:
    """The session's sign-in as it counts for this client (step-ups by allowed adapters only)."""
    return effective_authentication(session, ctx.now, allowed_adapters=ctx.policy.adapters)


def release(ctx: AuthorizationContext) -> ClaimRelease:
    return release_claims(ctx.policy, ctx.scopes, ctx.requested_claims)


def reachable_level(ctx: AuthorizationContext) -> Level | None:
    """The highest level an allowed adapter can produce; None when no allowed adapter is
    configured. Unknown abilities (``adapter_max_acr`` None): every level."""
    if not ctx.policy.adapters:
        return None
    if ctx.adapter_max_acr is None:
        return max(Level)
    levels = [ctx.adapter_max_acr[a] for a in ctx.policy.adapters if a in ctx.adapter_max_acr]
    return max(levels) if levels else None


def adapters_reaching(ctx: AuthorizationContext, level: Level | None) -> tuple[str, ...]:
    """Allowed adapters (policy order) able to reach ``level``."""
    if ctx.adapter_max_acr is None:
        return ctx.policy.adapters
    return tuple(a for a in ctx.policy.adapters
                 if a in ctx.adapter_max_acr and (level is None or ctx.adapter_max_acr[a] >= level))


def essential_level(ctx: AuthorizationContext) -> tuple[bool, Level | None]:
    """(an essential acr was asked with values, the lowest recognised of them or None)."""
    if not ctx.essential_acr:
        return False, None
    levels = parse_acr_values(ctx.essential_acr, ctx.issuer)
    return True, (min(levels) if levels else None)


def voluntary_level(ctx: AuthorizationContext) -> Level | None:
    """The level ``acr_values`` asks for, if some allowed adapter can reach it."""
    levels = parse_acr_values(ctx.acr_values, ctx.issuer)
    if not levels:
        return None
    wanted = min(levels)
    reach = reachable_level(ctx)
    return wanted if reach is not None and wanted <= reach else None


def requested_level(ctx: AuthorizationContext) -> Level | None:
    """The level the client asked for (essential or voluntary), None when it asked nothing usable."""
    _, essential = essential_level(ctx)
    candidates = [lv for lv in (essential, voluntary_level(ctx)) if lv is not None]
    return max(candidates) if candidates else None


def step_up_rules(ctx: AuthorizationContext) -> tuple[StepUpRule, ...]:
    """Rules of the policy whose scope this request will receive."""
    released = set(release(ctx).scopes)
    return tuple(rule for rule in ctx.policy.step_up if rule.scope in released)


def required_level(ctx: AuthorizationContext) -> Level:
    """The level a sign-in for this request must reach: policy minimum, what the client asked,
    and the step-up rules of the released scopes."""
    levels = [ctx.policy.minimum_acr, *(rule.acr for rule in step_up_rules(ctx))]
    asked = requested_level(ctx)
    if asked is not None:
        levels.append(asked)
    return max(levels)
