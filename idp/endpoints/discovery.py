"""Discovery (OpenID Connect Discovery 1.0 §3; RFC 8414) and the JWK Set.

The metadata document is generated from what is actually served and precomputed once; the JWKS
bytes and cache headers come precomputed from the key ring.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.endpoints.common import provider_of
from idp.oidc.claims import SCOPE_CLAIMS
from idp.oidc.provider import Provider
from idp.specs.profile import is_strict, signing_algorithms
from idp.specs.rfc6749_grants import CLIENT_AUTH_METHODS

router = APIRouter()
METADATA_CACHE = "public, max-age=300"


def metadata(provider: Provider) -> dict[str, Any]:
    issuer = provider.issuer
    strict = is_strict(provider.settings, None)
    client_algs = signing_algorithms(provider.settings, None)
    auth_methods = ["private_key_jwt"] if strict else list(CLIENT_AUTH_METHODS)
    claims = sorted({"sub", "iss", "auth_time", "acr", "amr", "sid"} | {c for cs in SCOPE_CLAIMS.values() for c in cs})
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks",
        "revocation_endpoint": issuer + "/revoke",
        "introspection_endpoint": issuer + "/introspect",
        "end_session_endpoint": issuer + "/logout",
        "scopes_supported": list(provider.scopes_supported),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": provider.ring.algorithms(),
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(client_algs),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": list(client_algs),
        "introspection_endpoint_auth_methods_supported": [m for m in auth_methods if m != "none"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(client_algs),
        "pushed_authorization_request_endpoint": issuer + "/par",
        "require_pushed_authorization_requests": strict or provider.settings.require_pushed_authorization_requests,
        "dpop_signing_alg_values_supported": list(client_algs),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "claims_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(client_algs),
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["vi", "en"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    }
    if provider.settings.registration_enabled:
        document["registration_endpoint"] = issuer + "/register"
    if provider.acr_values_supported:
        document["acr_values_supported"] = list(provider.acr_values_supported)
    return document


def discovery_document(provider: Provider) -> Callable[[], tuple[bytes, dict[str, str]]]:
    """The metadata as ready bytes (computed on first use: everything it lists is known by then)."""
    cached: list[bytes] = []

    def produce() -> tuple[bytes, dict[str, str]]:
        if not cached:
            cached.append(json.dumps(metadata(provider), separators=(",", ":")).encode())
        return cached[0], {"Content-Type": "application/json", "Cache-Control": METADATA_CACHE}

    return produce


def jwks_document(provider: Provider) -> Callable[[], tuple[bytes, dict[str, str]]]:
    def produce() -> tuple[bytes, dict[str, str]]:
        body, headers = provider.ring.jwks_document()
        return body, {"Content-Type": "application/jwk-set+json", **headers}

    return produce


def _document(request: Request) -> Response:
    body, headers = discovery_document(provider_of(request))()
    return Response(body, headers=headers)


# Async on purpose: nothing here blocks, so no thread-pool hop per request.
@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> Response:
    return _document(request)


@router.get("/.well-known/oauth-authorization-server")
async def oauth_authorization_server(request: Request) -> Response:
    return _document(request)


@router.get("/jwks")
async def jwks(request: Request) -> Response:
    document, headers = provider_of(request).ring.jwks_document()
    if request.headers.get("if-none-match") == headers.get("ETag"):
        return Response(status_code=304, headers=headers)
    return Response(document, media_type="application/jwk-set+json", headers=headers)
