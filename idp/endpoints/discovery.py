"""Discovery (OpenID Connect Discovery 1.0 §3; RFC 8414) and the JWK Set.

The metadata document is generated from what the compose step registered: the paths the app serves,
the grants, client authentication and PKCE methods of the token side's server, the key ring's
algorithms and the profile in force; the levels, claims and scopes from what the configured
adapters declare they produce (idp.oidc.capabilities); it is computed once. The JWKS bytes and
cache headers come precomputed from the key ring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.ekyc.assurance import discovery_metadata as verified_claims_metadata
from idp.endpoints.common import provider_of
from idp.oidc.capabilities import capabilities
from idp.oidc.provider import Provider
from idp.specs.profile import STRICT_AUTH_METHODS, is_strict, signing_algorithms

router = APIRouter()
METADATA_CACHE = "public, max-age=300"

# Where each endpoint RFC 8414 / OIDC Discovery names is served; listed only when the app serves it.
ENDPOINT_PATHS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "end_session_endpoint": "/logout",
    "pushed_authorization_request_endpoint": "/par",
    "registration_endpoint": "/register",
}
# The authlib endpoint (OAuthServer.endpoint_auth_methods) that answers each authenticated endpoint.
AUTHENTICATED_ENDPOINTS = {"revocation_endpoint": "revocation", "introspection_endpoint": "introspection"}


def metadata(provider: Provider, served_paths: Collection[str]) -> dict[str, Any]:
    """The metadata document: the endpoints among ``served_paths``, and the grants, client
    authentication methods and PKCE methods the token side's server registered, as the profile
    in force allows them."""
    issuer = provider.issuer
    settings = provider.settings
    server = provider.server
    strict = is_strict(settings, None)
    client_algs = list(signing_algorithms(settings, None))

    produced = capabilities(provider.adapters.entries, provider.scopes_supported)

    def allowed(methods: list[str]) -> list[str]:
        return [m for m in methods if m in STRICT_AUTH_METHODS] if strict else methods

    document: dict[str, Any] = {"issuer": issuer}
    document.update({name: issuer + path for name, path in ENDPOINT_PATHS.items() if path in served_paths})
    document.update({
        "scopes_supported": list(produced.scopes),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": server.grant_types,
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": provider.ring.algorithms(),
        "token_endpoint_auth_methods_supported": allowed(server.token_auth_methods),
        "token_endpoint_auth_signing_alg_values_supported": client_algs,
    })
    for name, endpoint in AUTHENTICATED_ENDPOINTS.items():
        if name in document:
            prefix = name.removesuffix("_endpoint")
            document[prefix + "_endpoint_auth_methods_supported"] = allowed(server.endpoint_auth_methods(endpoint))
            document[prefix + "_endpoint_auth_signing_alg_values_supported"] = client_algs
    if "pushed_authorization_request_endpoint" in document:
        document["require_pushed_authorization_requests"] = strict or settings.require_pushed_authorization_requests
    document.update({
        "dpop_signing_alg_values_supported": client_algs,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "code_challenge_methods_supported": server.code_challenge_methods,
        "claims_supported": produced.claims_supported(),
        "claims_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": client_algs,
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["vi", "en"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    })
    if produced.levels:
        document["acr_values_supported"] = produced.acr_values(issuer)
    if provider.chip is not None:  # a cccd-chip adapter: verified_claims can happen (idp/ekyc/assurance.py)
        document.update(verified_claims_metadata(provider.chip.verifications.check_methods()))
    return document


def discovery_document(provider: Provider,
                       served_paths: Collection[str]) -> Callable[[], tuple[bytes, dict[str, str]]]:
    """The metadata as ready bytes (computed on first use: everything it lists is known by then)."""
    cached: list[bytes] = []

    def produce() -> tuple[bytes, dict[str, str]]:
        if not cached:
            cached.append(json.dumps(metadata(provider, served_paths), separators=(",", ":")).encode())
        return cached[0], {"Content-Type": "application/json", "Cache-Control": METADATA_CACHE}

    return produce


def jwks_document(provider: Provider) -> Callable[[], tuple[bytes, dict[str, str]]]:
    def produce() -> tuple[bytes, dict[str, str]]:
        body, headers = provider.ring.jwks_document()
        return body, {"Content-Type": "application/jwk-set+json", **headers}

    return produce


def _document(request: Request) -> Response:
    body, headers = request.app.state.discovery_document()
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
