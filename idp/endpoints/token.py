"""``POST /token`` (RFC 6749 §3.2), ``/revoke`` (RFC 7009) and ``/introspect`` (RFC 7662), served
by authlib's server. Refused before authlib sees them, with ``invalid_request``: repeated
parameters, parameters in the query, a client authenticating with more than one method (RFC 6749
§2.3: a Basic header and ``client_secret`` or ``client_assertion`` in the body, or both of those),
and a token request without ``grant_type`` (§5.2, where authlib would say ``unsupported_grant_type``).
GET and the other methods get 405.

The POST handlers are direct routes (:mod:`idp.web.protocol`: answered before the framework); the
framework answers the wrong methods."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.responses import Response

from idp.audit.batching import WAIT_SECONDS
from idp.endpoints.common import (
    authlib_response,
    basic_client_id,
    client_request_form,
    json_response,
    oauth_request,
    provider_of,
)
from idp.errors import OAuthError
from idp.oidc.provider import Provider
from idp.oidc.token_lookup import is_access_token_shaped
from idp.oidc.tokens import AccessTokenInfo
from idp.web import request_scope
from idp.web.protocol import DirectRouter
from idp.web.threads import run_blocking
from keys.errors import InvalidToken

router = DirectRouter()


def _token_response(provider: Provider, plain: Any) -> Any:
    with request_scope.one_request():
        return provider.server.create_token_response(plain)


def _secret_client_cached(provider: Provider, request: Request, fields: dict[str, str]) -> bool:
    """Whether the calling client is cached fresh and authenticates with its secret: authenticating
    it is then pure computation (no I/O)."""
    client_id = fields.get("client_id") or basic_client_id(request.headers.get("authorization"))
    client = provider.cached_client(client_id)
    return client is not None and client.auth_method in ("client_secret_basic", "client_secret_post")


def _answerable_on_loop(provider: Provider, request: Request, form: list[tuple[str, str]]) -> bool:
    """A client's own token (client_credentials) with its secret, from a client cached fresh: pure
    computation but for the audit event, so it is answered on the event loop (no thread hop)."""
    fields = dict(form)
    return fields.get("grant_type") == "client_credentials" and _secret_client_cached(provider, request, fields)


async def _answer_on_loop(provider: Provider, work: Callable[[], Any]) -> Any:
    """``work()`` on the event loop; audit events it records are awaited before the answer leaves."""
    with request_scope.on_the_loop() as waits:
        answer = work()
    if waits:
        async with asyncio.timeout(WAIT_SECONDS):  # no token leaves before its event is committed
            for done in waits:
                await asyncio.wrap_future(done)  # raises what the write raised
    return answer


@router.direct("/token", ["POST"])
async def token(request: Request) -> Response:
    form = await client_request_form(request)
    if not dict(form).get("grant_type"):  # RFC 6749 §5.2: a required parameter is missing
        raise OAuthError("invalid_request", "grant_type is required")
    provider = provider_of(request)
    plain = oauth_request(request, form)
    proofs = request.headers.getlist("dpop")
    if proofs:  # RFC 9449 §5: the proof binds the tokens this request gets
        proof = await run_blocking(provider.dpop.verify, proofs, method="POST",
                                        url=provider.issuer + "/token")
        plain.extras["dpop_jkt"] = proof.jkt
        plain.extras["dpop_alg"] = proof.alg
        answer = await run_blocking(_token_response, provider, plain)
    elif _answerable_on_loop(provider, request, form):
        answer = await _answer_on_loop(provider, functools.partial(_token_response, provider, plain))
    else:
        answer = await run_blocking(_token_response, provider, plain)
    response = authlib_response(answer)
    if provider.dpop.nonce_required:
        response.headers["DPoP-Nonce"] = provider.dpop.nonce()
    return response


@router.direct("/revoke", ["POST"])
async def revoke(request: Request) -> Response:
    form = await client_request_form(request)
    server = provider_of(request).server
    plain = oauth_request(request, form)
    return authlib_response(await run_blocking(server.create_endpoint_response, "revocation", plain))


@router.direct("/introspect", ["POST"])
async def introspect(request: Request) -> Response:
    form = await client_request_form(request)
    provider = provider_of(request)
    plain = oauth_request(request, form)
    fields = dict(form)
    token = fields.get("token", "")
    if is_access_token_shaped(token) and _secret_client_cached(provider, request, fields):
        # An access token asked about by a client cached fresh: its one store read is awaited here,
        # and authlib's endpoint runs on the loop with the outcome (no thread hop).
        try:
            outcome: AccessTokenInfo | InvalidToken = await provider.tokens.check_access_token_on_loop(token)
        except InvalidToken as refused:
            outcome = refused
        with provider.tokens.checked_before(token, outcome):
            answer = await _answer_on_loop(
                provider, functools.partial(provider.server.create_endpoint_response, "introspection", plain))
        return authlib_response(answer)
    return authlib_response(await run_blocking(provider.server.create_endpoint_response, "introspection", plain))


@router.api_route("/token", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False)
@router.api_route("/revoke", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False)
@router.api_route("/introspect", methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False)
async def wrong_method(request: Request) -> Response:
    return json_response({"error": "invalid_request", "error_description": "use POST"}, status_code=405,
                         headers={"Allow": "POST"})

