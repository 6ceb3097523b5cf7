"""``response_type=code`` only, for a client allowed the authorization code grant, answered in a
known response mode (``query`` or ``form_post``)."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking
from idp.specs.authorization_request import RESPONSE_MODES


def check(checking: Checking) -> None:
    response_type = checking.values["response_type"]
    if not response_type:
        raise OAuthError("invalid_request", "response_type is required")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    if "authorization_code" not in checking.known_client.grant_types:
        raise OAuthError("unauthorized_client", "the client may not use the authorization code grant")
    response_mode = checking.values["response_mode"] or "query"
    if response_mode not in RESPONSE_MODES:
        raise OAuthError("invalid_request", "response_mode must be query or form_post")
    checking.fields["response_mode"] = response_mode
