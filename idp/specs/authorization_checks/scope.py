"""At least one scope, each one the provider supports and the client registered; a restricted
``vn_*`` scope only for a client of the strict profile (even one stored before the rule: PAR itself
is :mod:`.par`'s)."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking
from idp.specs.profile import restricted_scope_refusal


def check(checking: Checking) -> None:
    client = checking.known_client
    scopes = tuple(dict.fromkeys((checking.values["scope"] or "").split()))
    if not scopes:
        raise OAuthError("invalid_scope", "scope is required")
    supported = checking.context.scopes_supported
    unknown = [s for s in scopes if s not in supported or s not in client.scopes]
    if unknown:
        raise OAuthError("invalid_scope", f"scope {unknown[0]!r} is not allowed for this client")
    why = restricted_scope_refusal(scopes, client.auth_method, {"require_pushed_authorization_requests": True})
    if why:
        raise OAuthError("invalid_scope", why)
    checking.fields["scopes"] = scopes
