"""The strict relying-party profile switch (FAPI 2.0 Security Profile style, issue 9).

On for every client with ``IDP_STRICT_PROFILE=true``, or for one client with ``strict_profile: true``
in its metadata. A strict client must:
- push its authorization requests (RFC 9126 §5),
- authenticate with ``private_key_jwt`` (or mutual TLS, when a deployment adds it),
- present a DPoP proof at the token endpoint, so its access tokens are DPoP-bound (RFC 9449),
- sign with ES256 or PS256 only (client assertions, request objects, DPoP proofs).
PKCE S256 and the ``iss`` authorization response parameter apply to every client already.

Restricted scopes (every ``vn_*`` scope, deny by default) need the strict profile whatever the global
switch says: a client allowed one must be registered with ``private_key_jwt`` (or mutual TLS) and
pushed authorization requests (``require_pushed_authorization_requests`` or ``strict_profile``);
:func:`restricted_scope_refusal` is the rule every registration path applies, and at request time
such a client (even a row stored before the rule) must push its requests and authenticate with a
strict method (:func:`requires_par`, :func:`auth_method_allowed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, OAuth2Error

from idp.errors import IdpError
from idp.settings import Settings
from idp.storage.models import Client
from keys.signer import SUPPORTED_ALGORITHMS
from policies.claims import is_restricted

STRICT_ALGORITHMS: tuple[str, ...] = ("ES256", "PS256")
STRICT_AUTH_METHODS: tuple[str, ...] = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")


def is_restricted_scope(scope: str) -> bool:
    """Whether ``scope`` is restricted: the known Vietnamese scopes and any other ``vn_*`` one."""
    return scope.startswith("vn_") or is_restricted(scope)


def restricted_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    return tuple(s for s in scopes if is_restricted_scope(s))


def restricted_scope_refusal(scopes: Iterable[str], auth_method: str, extra: Mapping[str, Any]) -> str | None:
    """Why a client with these scopes, authentication method and metadata breaks the rule that a
    client allowed a restricted scope uses the strict profile; None when it keeps it (or has none)."""
    restricted = restricted_scopes(scopes)
    if not restricted:
        return None
    pushed = extra.get("require_pushed_authorization_requests") is True or extra.get("strict_profile") is True
    if auth_method in STRICT_AUTH_METHODS and pushed:
        return None
    missing = [] if auth_method in STRICT_AUTH_METHODS else [
        f"token_endpoint_auth_method private_key_jwt (not {auth_method})"]
    if not pushed:
        missing.append("require_pushed_authorization_requests true (PAR)")
    return (f"a client allowed the restricted scope {restricted[0]!r} must use the strict profile "
            f"(PAR, private_key_jwt or mutual TLS, PKCE): it needs {' and '.join(missing)}")


def has_restricted_scopes(client: Client) -> bool:
    """Whether ``client`` is allowed a restricted scope (then the strict profile's PAR and client
    authentication apply to it, whatever its stored metadata and the global switch say)."""
    return bool(restricted_scopes(client.scopes))


def is_strict(settings: Settings, client: Client | None) -> bool:
    """Whether the strict profile applies to ``client`` (or, without a client, to everyone)."""
    return settings.strict_profile or bool(client is not None and client.extra.get("strict_profile") is True)


def signing_algorithms(settings: Settings, client: Client | None) -> tuple[str, ...]:
    """The JWS algorithms accepted from the client (assertions, request objects, DPoP proofs)."""
    return STRICT_ALGORITHMS if is_strict(settings, client) else SUPPORTED_ALGORITHMS


def requires_par(settings: Settings, client: Client) -> bool:
    return (is_strict(settings, client) or settings.require_pushed_authorization_requests
            or client.extra.get("require_pushed_authorization_requests") is True or has_restricted_scopes(client))


def requires_dpop(settings: Settings, client: Client) -> bool:
    return is_strict(settings, client) or client.extra.get("dpop_bound_access_tokens") is True


def auth_method_allowed(settings: Settings, client: Client, method: str) -> bool:
    """Whether ``client`` may authenticate with ``method`` under the profile that applies to it."""
    return method in STRICT_AUTH_METHODS or not (is_strict(settings, client) or has_restricted_scopes(client))


class InvalidDpopProofError(OAuth2Error, IdpError):
    __init__ = OAuth2Error.__init__  # authlib's constructor (description=...) for the type checker too
    error = "invalid_dpop_proof"


def enforce_token_request(settings: Settings, client: Client, request: Any) -> None:
    """At the token endpoint, once the client is authenticated: the profile's auth method and the
    DPoP proof a client with ``dpop_bound_access_tokens`` (or the strict profile) must present."""
    if not auth_method_allowed(settings, client, getattr(request, "auth_method", "")):
        why = " (this client is allowed a restricted scope)" if has_restricted_scopes(client) else ""
        raise InvalidClientError(status_code=401, description="the strict profile requires private_key_jwt" + why)
    if requires_dpop(settings, client) and not request.extras.get("dpop_jkt"):
        raise InvalidDpopProofError(description="this client's access tokens must be DPoP-bound: send a DPoP proof")
    alg = request.extras.get("dpop_alg")
    if alg is not None and alg not in signing_algorithms(settings, client):
        raise InvalidDpopProofError(description=f"DPoP proofs of this client must use {' or '.join(STRICT_ALGORITHMS)}")
