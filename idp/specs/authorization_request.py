"""Validation of authorization requests.

Follows RFC 6749 §4.1.1 and §4.1.2.1, OpenID Connect Core 1.0 §3.1.2.1-§3.1.2.2, RFC 7636 (PKCE)
and the OAuth 2.0 Security BCP (RFC 9700). Choices:
- ``response_type=code`` only; PKCE with ``S256`` required of every client (``plain`` refused).
- ``redirect_uri`` is REQUIRED and compared to the registered ones by exact string match.
- Until the client and redirect URI are known good, errors are shown as a page, never redirected
  (§4.1.2.1); after that, errors go back to the client with ``state`` and ``iss`` (RFC 9207).
- ``response_mode``: ``query`` (default) or ``form_post``.
- a restricted ``vn_*`` scope is refused to a client that does not authenticate with a strict method
  (the strict profile of restricted scopes, :mod:`idp.specs.profile`), even one stored before the rule.
- ``request`` / ``request_uri`` are refused with their specific errors unless a later profile
  (JAR, PAR) turns them on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idp.errors import OAuthError, PageError
from idp.oidc.claims import parse_claims_parameter
from idp.specs.profile import restricted_scope_refusal
from idp.storage.ephemeral.base import shallow_record
from idp.storage.models import Client

PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PROMPTS = {"none", "login", "consent", "select_account"}
RESPONSE_MODES = {"query", "form_post"}
SINGLE_VALUED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "response_mode", "prompt", "max_age", "login_hint", "ui_locales",
    "id_token_hint", "acr_values", "claims", "request", "request_uri",
)
MAX_PARAM_LENGTH = 4096


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request, kept in the short-lived store during the interaction."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    response_mode: str = "query"
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str | None = None
    ui_locales: str | None = None
    id_token_hint: str | None = None
    acr_values: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return shallow_record(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AuthorizationRequest:
        values = dict(record)
        for name in ("scopes", "prompt", "acr_values"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


class RedirectableError(OAuthError):
    """An error to send back to the client's (validated) redirect URI."""

    def __init__(self, error: str, description: str | None, *, redirect_uri: str, state: str | None,
                 response_mode: str = "query") -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state
        self.response_mode = response_mode


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} given more than once")
    if not values:
        return None
    if len(values[0]) > MAX_PARAM_LENGTH:
        raise OAuthError("invalid_request", f"{name} is too long")
    return values[0] or None


def identify_client(params: Mapping[str, list[str]], find_client: Any) -> tuple[Client, str, str | None, str]:
    """Find the client and check the redirect URI; every failure here is a page (no redirect)."""
    try:
        client_id = _single(params, "client_id")
        redirect_uri = _single(params, "redirect_uri")
        state = _single(params, "state")
        response_mode = _single(params, "response_mode") or "query"
    except OAuthError:
        raise PageError("invalid_request", status_code=400) from None
    if not client_id:
        raise PageError("invalid_request", status_code=400, detail="client_id")
    client = find_client(client_id)
    if client is None:
        raise PageError("unknown_client", status_code=400)
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise PageError("redirect_uri_mismatch", status_code=400)
    if response_mode not in RESPONSE_MODES:
        response_mode = "query"
    return client, redirect_uri, state, response_mode


def validate(params: Mapping[str, list[str]], client: Client, redirect_uri: str, state: str | None,
             response_mode: str, *, supported_scopes: set[str]) -> AuthorizationRequest:
    """Validate the rest of the request; errors raise RedirectableError."""
    try:
        return _validate(params, client, redirect_uri, state, supported_scopes)
    except OAuthError as exc:
        raise RedirectableError(exc.error, exc.description, redirect_uri=redirect_uri, state=state,
                                response_mode=response_mode) from None


def _validate(params: Mapping[str, list[str]], client: Client, redirect_uri: str, state: str | None,
              supported_scopes: set[str]) -> AuthorizationRequest:
    values = {name: _single(params, name) for name in SINGLE_VALUED}
    if values["request"]:
        raise OAuthError("request_not_supported", "request objects are not enabled")
    if values["request_uri"]:
        raise OAuthError("request_uri_not_supported", "request_uri is not enabled")
    response_type = values["response_type"]
    if not response_type:
        raise OAuthError("invalid_request", "response_type is required")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise OAuthError("unauthorized_client", "the client may not use the authorization code grant")
    response_mode = values["response_mode"] or "query"
    if response_mode not in RESPONSE_MODES:
        raise OAuthError("invalid_request", "response_mode must be query or form_post")

    scopes = tuple(dict.fromkeys((values["scope"] or "").split()))
    if not scopes:
        raise OAuthError("invalid_scope", "scope is required")
    unknown = [s for s in scopes if s not in supported_scopes or s not in client.scopes]
    if unknown:
        raise OAuthError("invalid_scope", f"scope {unknown[0]!r} is not allowed for this client")
    why = restricted_scope_refusal(scopes, client.auth_method, {"require_pushed_authorization_requests": True})
    if why:  # a row stored before the rule (PAR itself is required by idp.specs.profile.requires_par)
        raise OAuthError("invalid_scope", why)

    challenge, method = values["code_challenge"], values["code_challenge_method"]
    if not challenge:
        raise OAuthError("invalid_request", "code_challenge (PKCE) is required")
    if method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not PKCE_CHALLENGE.match(challenge):
        raise OAuthError("invalid_request", "code_challenge is malformed")

    prompt = tuple((values["prompt"] or "").split())
    if set(prompt) - PROMPTS:
        raise OAuthError("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise OAuthError("invalid_request", "prompt=none cannot be combined with other values")

    max_age = None
    if values["max_age"] is not None:
        if not values["max_age"].isdigit() or len(values["max_age"]) > 9:
            raise OAuthError("invalid_request", "max_age must be a non-negative integer")
        max_age = int(values["max_age"])

    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        code_challenge=challenge,
        state=state,
        nonce=values["nonce"],
        response_mode=response_mode,
        prompt=prompt,
        max_age=max_age,
        login_hint=values["login_hint"],
        ui_locales=values["ui_locales"],
        id_token_hint=values["id_token_hint"],
        acr_values=tuple((values["acr_values"] or "").split()),
        claims=parse_claims_parameter(values["claims"]),
    )
