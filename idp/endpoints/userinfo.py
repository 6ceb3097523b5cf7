"""``GET|POST /userinfo`` (OIDC Core §5.3) with Bearer tokens (RFC 6750): the header, or the form
body for POST (§2.2). Errors carry ``WWW-Authenticate`` (§3).

DPoP-bound tokens (``cnf.jkt``, RFC 9449 §7) are accepted only as ``Authorization: DPoP`` with a
valid proof of the same key carrying ``ath``; presented as Bearer they are ``invalid_token``.

GET and POST are direct routes (:mod:`idp.web.protocol`: answered before the framework); the
framework answers the wrong methods."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from idp.endpoints.common import form_items, json_response, provider_of
from idp.errors import OAuthError
from idp.oidc.userinfo import userinfo_claims
from idp.specs.rfc9449_dpop import DpopError
from idp.web.protocol import DirectRouter
from idp.web.threads import run_blocking
from keys.errors import InvalidToken
from keys.signer import SUPPORTED_ALGORITHMS

router = DirectRouter()


def _challenge(error: str, description: str, status: int, *, scheme: str = "Bearer",
               extra_headers: dict[str, str] | None = None) -> Response:
    header = f'{scheme} error="{error}", error_description="{description}"'
    if scheme == "DPoP":
        header += f', algs="{" ".join(SUPPORTED_ALGORITHMS)}"'
    return json_response({"error": error, "error_description": description}, status_code=status,
                         headers={"WWW-Authenticate": header, **(extra_headers or {})})


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
        if scheme.lower() == "dpop" and value.strip():
            request.state.dpop_scheme = True
            return value.strip()
        return value.strip() if scheme.lower() == "bearer" and value.strip() else ""
    return body_token


def _check_binding(request: Request, token: str, cnf: dict[str, Any] | None) -> Response | None:
    """None when the token's presentation fits its binding (RFC 9449 §7.1); else the error."""
    provider = provider_of(request)
    jkt = (cnf or {}).get("jkt")
    presented_as_dpop = getattr(request.state, "dpop_scheme", False)
    if jkt and not presented_as_dpop:
        return _challenge("invalid_token", "a DPoP-bound access token must be presented with a DPoP proof", 401,
                          scheme="DPoP")
    if not presented_as_dpop:
        return None
    if not jkt:
        return _challenge("invalid_token", "the access token is not DPoP-bound", 401, scheme="DPoP")
    try:
        proof = provider.dpop.verify(request.headers.getlist("dpop"), method=request.method,
                                     url=provider.issuer + "/userinfo", access_token=token)
    except DpopError as exc:
        status = 401
        return _challenge(exc.error, exc.description or exc.error, status, scheme="DPoP", extra_headers=exc.headers)
    if proof.jkt != jkt:
        return _challenge("invalid_token", "the DPoP proof was signed by another key than the token is bound to",
                          401, scheme="DPoP")
    return None


@router.direct("/userinfo", ["GET", "POST"])
async def userinfo(request: Request) -> Response:
    token = await _bearer_token(request)
    if token is None:
        return json_response({"error": "invalid_request"}, status_code=401,
                             headers={"WWW-Authenticate": 'Bearer realm="userinfo"'})
    if token == "":
        return _challenge("invalid_request", "malformed or duplicated access token", 400)
    provider = provider_of(request)
    try:
        info = await provider.tokens.check_access_token_on_loop(token)
    except InvalidToken:
        return _challenge("invalid_token", "the access token is invalid, expired or revoked", 401)
    # Only DPoP needs I/O here (the proof's jti in the replay cache): plain Bearer stays on the loop.
    if info.cnf or getattr(request.state, "dpop_scheme", False):
        refused = await run_blocking(_check_binding, request, token, info.cnf)
        if refused is not None:
            return refused
    if info.subject_id is None or "openid" not in info.scopes:
        return _challenge("insufficient_scope", "the token was not issued for openid", 403)
    claims = info.userinfo
    if claims is None:  # a token issued before claim snapshots: read the person's claims now
        available = await run_blocking(provider.person_claims, info.subject_id)
        claims = userinfo_claims(available, info.scopes, info.claims_request, allowed=set(info.released_claims))
    return json_response({"sub": info.sub, **claims})


@router.api_route("/userinfo", methods=["PUT", "DELETE", "PATCH"], include_in_schema=False)
async def wrong_method(request: Request) -> Response:
    return json_response({"error": "invalid_request", "error_description": "use GET or POST"}, status_code=405,
                         headers={"Allow": "GET, POST"})

