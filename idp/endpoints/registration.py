"""``POST /register`` (RFC 7591 §3) and ``GET|PUT|DELETE /register/{client_id}`` (RFC 7592 §2),
mounted only when ``registration_enabled``. Bearer tokens: the initial access token to register,
the registration access token to manage."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.clients.metadata import InvalidClientMetadata
from idp.clients.service import check_client, register_client, remove_client
from idp.endpoints.common import json_response, provider_of
from idp.errors import OAuthError
from idp.oidc.provider import Provider
from idp.specs.rfc7591_registration import (
    ALLOWS,
    RAT_HASH,
    InitialAccessTokens,
    check_registration_access_token,
    registration_options,
    registration_response,
    token_hash,
)
from idp.web.context import bounded_body
from idp.web.threads import run_blocking

router = APIRouter()
MAX_BODY_BYTES = 64 * 1024


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _unauthorized(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, status_code=401,
                      headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'})


async def _metadata(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise OAuthError("invalid_client_metadata", "the body must be application/json")
    body = await bounded_body(request, MAX_BODY_BYTES)
    if body is None:
        raise OAuthError("invalid_client_metadata", "the registration request is too large", status_code=413)
    try:
        return json.loads(body)
    except ValueError:
        raise OAuthError("invalid_client_metadata", "the body is not JSON") from None


def _options(provider: Provider, metadata: Any, allows: frozenset[str]) -> dict[str, Any]:
    return registration_options(metadata, provider.settings, scopes_supported=set(provider.scopes_supported),
                                signing_algs=provider.ring.algorithms(), allows=allows)


def _register(provider: Provider, metadata: Any, initial_token: str) -> dict[str, Any]:
    options = _options(provider, metadata, InitialAccessTokens(provider.storage.db).allowances(initial_token))
    access_token = secrets.token_urlsafe(32)
    options["extra"][RAT_HASH] = token_hash(access_token)
    try:
        with provider.storage.db.transaction():  # the token's use is spent only with a stored client
            label = InitialAccessTokens(provider.storage.db).use(initial_token)
            if label is None:
                raise _unauthorized("a valid initial access token is required")
            client, secret = register_client(provider.storage, "dcr-" + secrets.token_urlsafe(12),
                                             audit=provider.audit, actor=f"registration:{label}", **options)
    except InvalidClientMetadata as exc:
        raise OAuthError("invalid_client_metadata", str(exc)) from None
    return registration_response(client, provider.issuer, secret=secret, access_token=access_token)


@router.post("/register")
async def register(request: Request) -> Response:
    provider = provider_of(request)
    token = _bearer(request)
    if not await run_blocking(InitialAccessTokens(provider.storage.db).is_valid, token or ""):
        raise _unauthorized("a valid initial access token is required")
    metadata = await _metadata(request)
    body = await run_blocking(_register, provider, metadata, token or "")
    return json_response(body, status_code=201)


def _managed(request: Request, client_id: str) -> Any:
    provider = provider_of(request)
    client = provider.storage.clients.get(client_id) if len(client_id) <= 255 else None
    if not check_registration_access_token(client, _bearer(request)):
        raise _unauthorized("the registration access token is not valid for this client")
    return client


@router.get("/register/{client_id}")
def read(request: Request, client_id: str) -> Response:
    client = _managed(request, client_id)
    return json_response(registration_response(client, provider_of(request).issuer))


@router.put("/register/{client_id}")
async def replace(request: Request, client_id: str) -> Response:
    provider = provider_of(request)
    client = await run_blocking(_managed, request, client_id)
    metadata = await _metadata(request)
    if not isinstance(metadata, dict) or metadata.get("client_id") != client_id or "client_secret" in metadata:
        raise OAuthError("invalid_client_metadata", "client_id must be sent and match; client_secret cannot be set")
    allows = frozenset(client.extra.get(ALLOWS) or ())  # what its initial access token allowed, no more
    options = await run_blocking(_options, provider, metadata, allows)
    if options["auth_method"] != client.auth_method:
        raise OAuthError("invalid_client_metadata", "token_endpoint_auth_method cannot change")

    def apply(current: Any) -> Any:  # the same check as every registration (InvalidClientMetadata rolls back)
        return check_client(current.replace(
            name=options["name"] or current.name, redirect_uris=tuple(options["redirect_uris"]),
            post_logout_redirect_uris=tuple(options["post_logout_redirect_uris"]),
            grant_types=tuple(options["grant_types"]), scopes=options["scopes"],
            extra={**options["extra"], RAT_HASH: current.extra[RAT_HASH]}))

    def update() -> Any:
        with provider.storage.db.transaction():
            updated = provider.storage.clients.update(client_id, apply)
            provider.record("client.changed", client_id=client_id, details={"actor": "registration"})
        provider.forget_client(client_id)
        return updated

    try:
        updated = await run_blocking(update)
    except InvalidClientMetadata as exc:
        raise OAuthError("invalid_client_metadata", str(exc)) from None
    return json_response(registration_response(updated, provider.issuer))


@router.delete("/register/{client_id}")
def delete(request: Request, client_id: str) -> Response:
    provider = provider_of(request)
    _managed(request, client_id)
    remove_client(provider.storage, client_id, audit=provider.audit, actor="registration")
    provider.forget_client(client_id)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
