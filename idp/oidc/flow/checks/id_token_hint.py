"""``id_token_hint`` (OIDC Core §3.1.2.1) against the SSO session: the session the request goes on
with."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.oidc.hints import IdTokenHints
from idp.sessions import SsoSession
from idp.specs.authorization_request import AuthorizationRequest
from idp.storage.models import Client


def check(hints: IdTokenHints, authz: AuthorizationRequest, client: Client,
          session: SsoSession | None) -> SsoSession | None:
    """``session`` when there is no hint or the hint names its person; None when it names someone
    else (a new sign-in is needed). ``login_required`` for that under ``prompt=none``, and
    ``invalid_request`` for a hint that is not our ID token or was issued to another client."""
    if session is None or hints.matches_session(authz.id_token_hint, client, session):
        return session
    if "none" in authz.prompt:
        raise OAuthError("login_required", "the signed-in person is not the one the id_token_hint names")
    return None
