"""The consent page: what the client will receive (restricted scopes said plainly), remembered per
person, client and scope set; declining ends the request with ``access_denied``. Only the browser
and the session the interaction belongs to may answer it (idp.endpoints.interaction)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idp.endpoints.common import checked_form, current_session, provider_of
from idp.endpoints.interaction import check_session, pending_interaction
from idp.endpoints.internal_clients import client_for
from idp.ui.render import render_page
from idp.web.context import audit_context
from idp.web.threads import run_blocking

router = APIRouter()


@router.get("/interaction/{interaction_id}/consent")
def consent_page(request: Request, interaction_id: str) -> Response:
    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
    session = current_session(request)
    check_session(request, interaction, session)
    prompt = interaction.prompt or {}
    if session is None or prompt.get("kind") != "consent":
        return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
    client = client_for(provider, interaction.request.client_id)
    restricted = set(provider.restricted_scopes)
    scopes = [{"name": s, "restricted": s in restricted} for s in prompt.get("scopes") or interaction.request.scopes]
    claims = sorted(prompt.get("claims") or ())
    context = {"client_name": client.name if client else interaction.request.client_id, "scopes": scopes,
               "claims": claims, "form_action": f"/interaction/{interaction_id}/consent",
               "interaction": interaction_id, "ui_locales": interaction.request.ui_locales,
               "page_url": f"/interaction/{interaction_id}/consent"}
    return render_page(request, "consent.html", context, form_targets=[interaction.request.redirect_uri])


@router.post("/interaction/{interaction_id}/consent")
async def consent_submit(request: Request, interaction_id: str) -> Response:
    form = await checked_form(request)
    return await run_blocking(_consent_decision, request, interaction_id, form.get("decision"))


def _consent_decision(request: Request, interaction_id: str, decision: str | None) -> Response:
    from idp.endpoints.authorize import error_to_client
    from idp.specs.authorization_request import RedirectableError

    provider = provider_of(request)
    interaction = pending_interaction(request, interaction_id)
    session = current_session(request)
    check_session(request, interaction, session)
    if session is None:
        return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
    authz = interaction.request
    context = audit_context(request, session.id)
    if decision != "allow":
        provider.interactions.finish(interaction_id)
        provider.record("consent.denied", context=context, outcome="denied", subject=session.subject_id,
                        client_id=authz.client_id)
        return error_to_client(request, RedirectableError("access_denied", "the person declined",
                                                          redirect_uri=authz.redirect_uri, state=authz.state,
                                                          response_mode=authz.response_mode))
    prompt = interaction.prompt or {}
    scopes, claims = set(prompt.get("scopes") or ()), set(prompt.get("claims") or ())
    with provider.storage.db.transaction():
        provider.storage.consents.grant(session.subject_id, authz.client_id, scopes, claims)
        provider.record("consent.granted", context=context, subject=session.subject_id, client_id=authz.client_id,
                        details={"scope": " ".join(sorted(scopes)), "claims": sorted(claims)})
    provider.interactions.save(interaction.replace(
        prompt=None, consented_scopes=tuple(sorted(scopes | set(interaction.consented_scopes or ()))),
        consented_claims=tuple(sorted(claims | set(interaction.consented_claims or ())))))
    return RedirectResponse(f"/authorize/resume/{interaction_id}", status_code=303)
