"""``POST /register`` (RFC 7591 §3) and ``GET|PUT|DELETE /register/{client_id}`` (RFC 7592 §2),
mounted only when ``registration_enabled``. Bearer tokens: the initial access token to register,
the registration access token to manage."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from idp.clients.registration import unauthorized
from idp.endpoints.common import json_response, provider_of
from idp.errors import OAuthError
from idp.web.context import bounded_body
from idp.web.threads import run_blocking

router = APIRouter()
MAX_BODY_BYTES = 64 * 1024


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


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


@router.post("/register")
async def register(request: Request) -> Response:
    registration = provider_of(request).registration
    token = _bearer(request) or ""
    if not await run_blocking(registration.initial_token_valid, token):
        raise unauthorized("a valid initial access token is required")
    metadata = await _metadata(request)
    body = await run_blocking(registration.register, metadata, token)
    return json_response(body, status_code=201)


def _managed(request: Request, client_id: str) -> Any:
    return provider_of(request).registration.managed(client_id, _bearer(request))


@router.get("/register/{client_id}")
def read(request: Request, client_id: str) -> Response:
    return json_response(provider_of(request).registration.read(_managed(request, client_id)))


@router.put("/register/{client_id}")
async def replace(request: Request, client_id: str) -> Response:
    client = await run_blocking(_managed, request, client_id)
    metadata = await _metadata(request)
    body = await run_blocking(provider_of(request).registration.replace, client, metadata)
    return json_response(body)


@router.delete("/register/{client_id}")
def delete(request: Request, client_id: str) -> Response:
    provider_of(request).registration.delete(_managed(request, client_id))
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
