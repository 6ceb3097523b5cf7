"""``GET|POST /authorize`` (RFC 6749 §4.1; OIDC Core §3.1.2) and its resumption after an interaction.

Responses: ``code``, ``state`` and ``iss`` (RFC 9207) by redirect (``response_mode=query``) or
an auto-submitted form (OAuth 2.0 Form Post Response Mode). Errors before the client and the
redirect URI are verified are pages; after, they go back to the client.

This module parses the request and has it checked (the chain of idp.specs.authorization_checks:
PAR or request object, client, redirect URI, PKCE, scopes...); what it needs next (a sign-in, a
consent, a second factor, or the code at once) is the sign-in flow's (idp.oidc.flow): a request that
needs the person is stored as an interaction bound to this browser and its session
(idp.web.binding), and ``/authorize/resume/{id}`` continues it only there. An SSO session that
answers at once stores and sets nothing.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from idp.endpoints.common import answer, browser_of, flow_of, form_items, grouped, provider_of
from idp.errors import OAuthError, PageError
from idp.specs.authorization_checks.chain import check_authorization
from idp.specs.authorization_request import RedirectableError
from idp.web.flow_responses import error_to_client
from idp.web.protocol import DirectRouter
from idp.web.threads import run_blocking

router = DirectRouter()


@router.direct("/authorize", ["GET", "POST"])  # answered before the framework (idp.web.protocol)
async def authorize(request: Request) -> Response:
    try:
        items = await form_items(request) if request.method == "POST" else list(request.query_params.multi_items())
    except OAuthError:
        raise PageError("invalid_request") from None
    return await run_blocking(_authorize, request, items)


def _authorize(request: Request, items: list[tuple[str, str]]) -> Response:
    """The authorization request, checked (idp.specs.authorization_checks), then the flow's first
    step (one thread hop for all of it)."""
    provider = provider_of(request)
    try:
        authz = check_authorization(provider, grouped(items))
    except RedirectableError as error:
        return error_to_client(request, provider.issuer, error)
    return answer(request, flow_of(request).begin(authz, browser_of(request)))


@router.get("/authorize/resume/{interaction_id}")
async def resume(request: Request, interaction_id: str) -> Response:
    return await run_blocking(_resume, request, interaction_id)


def _resume(request: Request, interaction_id: str) -> Response:
    return answer(request, flow_of(request).resume(interaction_id, browser_of(request)))
