"""Every parameter /authorize reads is given at most once and is not too long; ``request`` and
``request_uri`` are only taken as :mod:`.request_object` resolves them (a request object inside
another, or a request_uri that is not a pushed one, is refused with its specific error)."""

from __future__ import annotations

from idp.errors import OAuthError
from idp.specs.authorization_checks.checking import Checking, single

SINGLE_VALUED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "response_mode", "prompt", "max_age", "login_hint", "ui_locales",
    "id_token_hint", "acr_values", "claims", "request", "request_uri",
)


def check(checking: Checking) -> None:
    values = {name: single(checking.params, name) for name in SINGLE_VALUED}
    if values["request"]:
        raise OAuthError("request_not_supported", "request objects are not enabled")
    if values["request_uri"]:
        raise OAuthError("request_uri_not_supported", "request_uri is not enabled")
    checking.values = values
    checking.fields.update(nonce=values["nonce"], login_hint=values["login_hint"],
                           ui_locales=values["ui_locales"], id_token_hint=values["id_token_hint"],
                           acr_values=tuple((values["acr_values"] or "").split()))
