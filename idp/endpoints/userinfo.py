"""``GET|POST /userinfo`` (OIDC Core §5.3) with Bearer tokens (RFC 6750): the header, or the form
body for POST (§2.2). Errors carry ``WWW-Authenticate`` (§3)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from idp.endpoints.common import form_items, json_response, provider_of
from idp.errors import OAuthError
from idp.oidc.userinfo import subject_claims, userinfo_claims
from keys.errors import InvalidToken

router = APIRouter()


def _challenge(error: str, description: str, status: int) -> Response:
    header = f'Bearer error="{error}", error_description="{description}"'
    return json_response({"error": error, "error_description": description}, status_code=status,
                         headers={"WWW-Authenticate": header})


async def _bearer_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    body_token = None
    if request.method == "POST":
        try:
            form = await form_items(request)
        except OAuthError:
            form = []
        body_token = next((v for k, v in form if k == "access_token"), None)
    if authorization and body_token:
        return ""  # two methods at once: invalid_request (RFC 6750 §2)
    if authorization:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else ""
    return body_token


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    token = await _bearer_token(request)
    if token is None:
        return json_response({"error": "invalid_request"}, status_code=401,
                             headers={"WWW-Authenticate": 'Bearer realm="userinfo"'})
    if token == "":
        return _challenge("invalid_request", "malformed or duplicated access token", 400)
    provider = provider_of(request)
    try:
        info = await run_in_threadpool(provider.tokens.check_access_token, token)
    except InvalidToken:
        return _challenge("invalid_token", "the access token is invalid, expired or revoked", 401)
    if info.subject_id is None or "openid" not in info.scopes:
        return _challenge("insufficient_scope", "the token was not issued for openid", 403)
    available = await run_in_threadpool(subject_claims, provider.storage, info.subject_id,
                                        provider.identity_keys.enc_key)
    claims = userinfo_claims(available, info.scopes, info.claims_request, allowed=set(info.released_claims))
    return json_response({"sub": info.sub, **claims})
