"""Pushed authorization requests (PAR, RFC 9126): ``POST /par``. How /authorize takes a pushed
request is :mod:`idp.specs.authorization_checks.request_object`'s.

Choices:
- ``POST /par`` authenticates the client with its registered method (§2: the same as at the token
  endpoint) and validates the request exactly as /authorize would, answering errors as JSON (§2.3);
- ``request_uri`` is ``urn:ietf:params:oauth:request_uri:<256 random bits>``, lives
  ``par_ttl_seconds`` (60 by default, §2.2) and is single use (§4): a second use is answered to the
  client's pushed redirect URI with ``invalid_request_uri``; an unknown or expired one is a page;
- a ``request_uri`` in the pushed body is refused (§2.1); a ``request`` object in it (JAR) is
  verified and replaces every other parameter (RFC 9101 §5);
- ``client_id`` must accompany ``request_uri`` at /authorize and match the pusher (§4);
- required globally (``require_pushed_authorization_requests``), per client (the metadata of the
  same name) or by the strict profile (§5).
"""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

from idp.errors import OAuthError, PageError
from idp.specs.authlib_request import audit_context
from idp.specs.authorization_checks.chain import check_pushed
from idp.specs.authorization_checks.checking import Params
from idp.specs.authorization_checks.request_object import KIND, URN_PREFIX
from idp.specs.authorization_request import RedirectableError
from idp.specs.ports import PushedRequestContext
from idp.specs.profile import auth_method_allowed
from idp.specs.rfc6749_grants import CLIENT_AUTH_METHODS
from idp.specs.rfc9101_jar import request_object_parameters

CLIENT_AUTH_PARAMETERS = ("client_assertion", "client_assertion_type", "client_secret")


def push(provider: PushedRequestContext, plain: Any, form: list[tuple[str, str]]) -> dict[str, Any]:
    """Authenticate the client, validate the pushed request, keep it; the PAR response (§2.2)."""
    try:
        client = provider.server.authenticate_client(plain, CLIENT_AUTH_METHODS, endpoint="par").client
    except OAuth2Error as exc:
        raise OAuthError(exc.error or "invalid_client", exc.description, status_code=exc.status_code) from None
    if not auth_method_allowed(provider.settings, client, getattr(plain, "auth_method", "")):
        raise OAuthError("invalid_client", "the strict profile requires private_key_jwt", status_code=401)
    params: Params = {}
    for name, value in form:
        if name not in CLIENT_AUTH_PARAMETERS:
            params.setdefault(name, []).append(value)
    if "request_uri" in params:
        raise OAuthError("invalid_request", "request_uri cannot be pushed")
    if params.get("client_id", [client.client_id]) != [client.client_id]:
        raise OAuthError("invalid_request", "client_id does not match the authenticated client")
    if "request" in params:
        params = request_object_parameters(provider, client, params["request"][0])
    params["client_id"] = [client.client_id]
    try:  # validated as /authorize would (idp.specs.authorization_checks), answered as JSON (§2.3)
        _, checked = check_pushed(provider, client, params)
    except PageError as exc:
        raise OAuthError("invalid_request", exc.detail or exc.message_id) from None
    except RedirectableError as exc:
        raise OAuthError(exc.error, exc.description) from None
    redirect_uri, state, mode = checked.redirect_uri, checked.state, checked.response_mode
    request_id = secrets.token_urlsafe(32)
    ttl = provider.settings.par_ttl_seconds
    provider.ephemeral.upsert(KIND, request_id, {"client_id": client.client_id, "params": params,
                                                 "redirect_uri": redirect_uri, "state": state,
                                                 "response_mode": mode}, ttl)
    provider.record("par.pushed", context=audit_context(plain), client_id=client.client_id)
    return {"request_uri": URN_PREFIX + request_id, "expires_in": ttl}
