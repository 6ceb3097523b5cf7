"""``GET|POST /authorize`` (RFC 6749 §4.1; OIDC Core §3.1.2) and its resumption after an interaction.

Responses: ``code``, ``state`` and ``iss`` (RFC 9207) by redirect (``response_mode=query``) or
an auto-submitted form (OAuth 2.0 Form Post Response Mode). Errors before the client and the
redirect URI are verified are pages; after, they go back to the client.

A request that needs the person (a sign-in, a consent, a second factor) is stored as an interaction
bound to this browser and its session (idp.web.binding); ``/authorize/resume/{id}`` continues it
only there. An SSO session that answers at once stores and sets nothing.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import current_session, form_items, grouped, provider_of
from idp.endpoints.hints import hint_matches_session
from idp.endpoints.internal_clients import LANDING_PAGES, client_for
from idp.errors import OAuthError, PageError
from idp.oidc.assurance import context_for, effective, state_of
from idp.oidc.interaction import Interaction
from idp.sessions import SsoSession
from idp.specs.authorization_request import AuthorizationRequest, RedirectableError, identify_client, validate
from idp.specs.profile import requires_par
from idp.specs.rfc9126_par import authorization_parameters
from idp.ui.render import form_post_page
from idp.web.binding import attach, browser_key
from idp.web.context import audit_context
from idp.web.threads import run_blocking
from policies import ClaimRelease, ClientPolicy, Deny, Prompt, evaluate, release_claims, requested_claim_names

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


def release_details(policy: ClientPolicy, release: ClaimRelease) -> dict[str, Any]:
    """The audit details of what a client's policy releases to it: the scopes, the policy's digest
    and what it withheld (``kind:name:reason``)."""
    return {"scope": " ".join(release.scopes), "policy": policy.digest,
            "dropped": [f"{d.kind}:{d.name}:{d.reason}" for d in release.dropped]}


def planned_release(policy: ClientPolicy, authz: AuthorizationRequest) -> ClaimRelease:
    """What the policy releases for this authorization request (the scopes and claims of its code)."""
    return release_claims(policy, authz.scopes, requested_claim_names(authz.claims))


@router.api_route("/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    try:
        items = await form_items(request) if request.method == "POST" else list(request.query_params.multi_items())
    except OAuthError:
        raise PageError("invalid_request") from None
    return await run_blocking(_authorize, request, items)


def _authorize(request: Request, items: list[tuple[str, str]]) -> Response:
    """The authorization request, checked, then its next step (one thread hop for all of it).
    Its interaction is stored only when a prompt needs it (an SSO session that answers at once
    stores nothing)."""
    provider = provider_of(request)
    try:  # PAR request_uri (RFC 9126 §4) or a request object (RFC 9101 §5) replace the parameters
        params, pushed = authorization_parameters(provider, grouped(items))
    except RedirectableError as error:
        return error_to_client(request, error)
    client, redirect_uri, state, response_mode = identify_client(params, provider.find_client)
    try:
        if not pushed and requires_par(provider.settings, client):
            raise RedirectableError("invalid_request", "this client must use pushed authorization requests (/par)",
                                    redirect_uri=redirect_uri, state=state, response_mode=response_mode)
        authz = validate(params, client, redirect_uri, state, response_mode,
                         supported_scopes=set(provider.scopes_supported))
    except RedirectableError as error:
        return error_to_client(request, error)
    return proceed(request, provider.interactions.new(authz), stored=False)


ROUTES = {("GET", "/authorize"): authorize, ("POST", "/authorize"): authorize}  # the direct route (idp.web.protocol)


@router.get("/authorize/resume/{interaction_id}")
async def resume(request: Request, interaction_id: str) -> Response:
    return await run_blocking(_resume, request, interaction_id)


def _resume(request: Request, interaction_id: str) -> Response:
    from idp.endpoints.interaction import check_session, pending_interaction  # it imports this module

    interaction = pending_interaction(request, interaction_id)
    session = current_session(request)
    check_session(request, interaction, session)
    return proceed(request, interaction, signed_in=session)


def proceed(request: Request, interaction: Interaction, *, signed_in: SsoSession | None = None,
            stored: bool = True) -> Response:
    """Ask the client's policy what the pending request needs next, and take that step.

    ``signed_in``: the session to continue with: the one a sign-in in this request just started (its
    cookie is not sent yet), or the one the caller read already; otherwise the request's session
    cookie says. After a sign-in the interaction is passed as it
    stands in memory (with ``logged_in_at``); it is stored again only when a further prompt needs it.
    ``stored``: whether the interaction is in the store (then it is consumed before a code is
    issued, so two concurrent requests never both issue one); a new one is stored only by a prompt.
    """
    provider = provider_of(request)
    authz = interaction.request
    client = client_for(provider, authz.client_id)
    if client is None:
        raise PageError("unknown_client")
    session = signed_in if signed_in is not None else current_session(request)

    def fail(error: str, description: str | None) -> Response:
        if stored:
            provider.interactions.finish(interaction.id)
        return error_to_client(request, RedirectableError(error, description, redirect_uri=authz.redirect_uri,
                                                          state=authz.state, response_mode=authz.response_mode))

    try:
        if session is not None and not hint_matches_session(provider, authz.id_token_hint, client, session):
            if "none" in authz.prompt:
                return fail("login_required", "the signed-in person is not the one the id_token_hint names")
            session = None  # someone else is signed in: a new sign-in is needed
    except OAuthError as exc:
        return fail(exc.error, exc.description)
    now = int(time.time())
    policy = provider.policy_for(client.client_id)
    consent = provider.storage.consents.get(session.subject_id, client.client_id) if session else None
    state = state_of(session, consent, interaction)
    outcome = evaluate(context_for(policy, provider.issuer, client, interaction, now), state)
    if isinstance(outcome, Deny):
        provider.record("signin", context=audit_context(request, session.id if session else None),
                        outcome="denied", client_id=client.client_id, reason=outcome.reason,
                        subject=session.subject_id if session else None, details={"check": outcome.check})
        return fail(outcome.error, outcome.reason)
    if isinstance(outcome, Prompt):
        prompt = {"kind": outcome.kind, "reason_id": outcome.reason_id, "adapters": list(outcome.adapters),
                  "scopes": list(outcome.scopes), "claims": list(outcome.claims)}
        # Bound to this browser (kept from the first prompt) and to the session that continues it.
        provider.interactions.save(interaction.replace(
            prompt=prompt, browser=interaction.browser or browser_key(request),
            session_id=session.id if session is not None else None))
        page = {"login": "login", "step_up": "login", "mfa": "mfa", "consent": "consent"}[outcome.kind]
        return attach(request, RedirectResponse(f"/interaction/{interaction.id}/{page}", status_code=303))
    assert session is not None
    if stored and provider.interactions.finish(interaction.id) is None:
        raise PageError("session_expired")  # finished by a concurrent request: never issue twice
    if authz.client_id in LANDING_PAGES:  # the provider's own pages: no code, back to the page
        return RedirectResponse(LANDING_PAGES[authz.client_id], status_code=303)
    achieved = effective(state, policy, now)
    release = planned_release(policy, authz)
    code = provider.issue_code(authz, session, scopes=release.scopes, released_claims=tuple(sorted(release.claims)),
                               acr=achieved.acr_uri(provider.issuer), amr=achieved.amr, auth_time=achieved.auth_time)
    if interaction.logged_in_at is None:
        # An SSO join: this event is the only record that the session reached this client. After a
        # sign-in in this request, the ``signin`` event already says who, for which client, and
        # what the policy releases (release_details), and ``token.issued`` what was issued.
        provider.record("code.issued", context=audit_context(request, session.id), subject=session.subject_id,
                        client_id=client.client_id, acr=achieved.acr_uri(provider.issuer), amr=achieved.amr,
                        details=release_details(policy, release))
    return respond_to_client(request, authz.redirect_uri, {"code": code, "state": authz.state},
                             authz.response_mode)
