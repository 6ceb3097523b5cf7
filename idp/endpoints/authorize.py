"""``GET|POST /authorize`` (RFC 6749 §4.1; OIDC Core §3.1.2) and its resumption after an interaction.

Responses: ``code``, ``state`` and ``iss`` (RFC 9207) by redirect (``response_mode=query``) or
an auto-submitted form (OAuth 2.0 Form Post Response Mode). Errors before the client and the
redirect URI are verified are pages; after, they go back to the client.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import current_session, form_items, grouped, provider_of
from idp.endpoints.hints import hint_matches_session
from idp.endpoints.internal_clients import ACCOUNT_CLIENT_ID, client_for
from idp.errors import OAuthError, PageError
from idp.oidc.interaction import CONSENT, LOGIN, Interaction, login_needed, next_step
from idp.specs.authorization_request import RedirectableError, identify_client, validate
from idp.ui.render import form_post_page
from idp.web.context import audit_context

router = APIRouter()


def respond_to_client(request: Request, redirect_uri: str, params: dict[str, str | None],
                      response_mode: str) -> Response:
    """The authorization response (or error response) with ``iss`` added (RFC 9207 §2)."""
    values = {k: v for k, v in params.items() if v is not None}
    values["iss"] = provider_of(request).issuer
    if response_mode == "form_post":
        return form_post_page(request, redirect_uri, values)
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(values), status_code=302,
                            headers={"Cache-Control": "no-store"})


def error_to_client(request: Request, error: RedirectableError) -> Response:
    params = {"error": error.error, "error_description": error.description, "state": error.state}
    return respond_to_client(request, error.redirect_uri, params, error.response_mode)


@router.api_route("/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    try:
        items = await form_items(request) if request.method == "POST" else list(request.query_params.multi_items())
    except OAuthError:
        raise PageError("invalid_request") from None
    params = grouped(items)
    provider = provider_of(request)
    client, redirect_uri, state, response_mode = await run_in_threadpool(identify_client, params, provider.find_client)
    try:
        authz = validate(params, client, redirect_uri, state, response_mode,
                         supported_scopes=set(provider.scopes_supported))
    except RedirectableError as error:
        return error_to_client(request, error)
    interaction = provider.interactions.create(authz)
    return await run_in_threadpool(proceed, request, interaction)


@router.get("/authorize/resume/{interaction_id}")
def resume(request: Request, interaction_id: str) -> Response:
    interaction = provider_of(request).interactions.get(interaction_id)
    if interaction is None:
        raise PageError("session_expired")
    return proceed(request, interaction)


def proceed(request: Request, interaction: Interaction) -> Response:
    """Decide the next step of a pending request and take it."""
    provider = provider_of(request)
    authz = interaction.request
    client = client_for(provider, authz.client_id)
    if client is None:
        raise PageError("unknown_client")
    session = current_session(request)
    fresh = session is not None and interaction.logged_in_at is not None and interaction.session_id == session.id
    try:
        hint_ok = session is None or hint_matches_session(provider, authz.id_token_hint, client, session)
    except OAuthError as exc:
        provider.interactions.finish(interaction.id)
        return error_to_client(request, RedirectableError(exc.error, exc.description, redirect_uri=authz.redirect_uri,
                                                          state=authz.state, response_mode=authz.response_mode))
    need_login = login_needed(authz, session.auth_time if session else None, fresh=fresh, hint_matches=hint_ok)
    need_consent = False
    if session is not None and not need_login and not client.trusted and not interaction.consented:
        consent = provider.storage.consents.get(session.subject_id, client.client_id)
        need_consent = "consent" in authz.prompt or consent is None or not consent.covers(set(authz.scopes))
    step = next_step(authz, need_login=need_login, need_consent=need_consent)
    if step.error:
        provider.interactions.finish(interaction.id)
        return error_to_client(request, RedirectableError(step.error, None, redirect_uri=authz.redirect_uri,
                                                          state=authz.state, response_mode=authz.response_mode))
    if step.kind == LOGIN:
        return RedirectResponse(f"/interaction/{interaction.id}/login", status_code=303)
    if step.kind == CONSENT:
        return RedirectResponse(f"/interaction/{interaction.id}/consent", status_code=303)
    assert session is not None
    if provider.interactions.finish(interaction.id) is None:
        raise PageError("session_expired")  # finished by a concurrent request: never issue twice
    if authz.client_id == ACCOUNT_CLIENT_ID:
        return RedirectResponse("/account", status_code=303)
    code = provider.issue_code(authz, session)
    provider.record("code.issued", None, subject=session.subject_id, client_id=client.client_id, acr=session.acr,
                    amr=session.amr, details={"scope": " ".join(authz.scopes)})
    _ = audit_context  # request context is attached by the audit layer's middleware
    return respond_to_client(request, authz.redirect_uri, {"code": code, "state": authz.state},
                             authz.response_mode)
